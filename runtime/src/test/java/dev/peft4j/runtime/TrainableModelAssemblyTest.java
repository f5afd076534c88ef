package dev.peft4j.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.runtime.config.ConfiguredComponent;
import dev.peft4j.runtime.plugin.ComponentKind;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.runtime.plugin.PluginRegistry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The composition root runs its steps in order: head attached, method on the task root, head trained. */
class TrainableModelAssemblyTest {
    private static ConfiguredComponent component(PluginRegistry registry, ComponentKind kind, String name, String path, Map<String, ?> settings) {
        PluginRegistry.Registration<?> registration = registry.lookup(kind, name);
        Config section = ConfigFactory.parseMap(settings).withFallback(registry.defaults(kind, name));
        return new ConfiguredComponent(path, registration, registration.factory().parseConfig(section), section);
    }

    @Test
    void theMethodSeesTheTaskRootAndTheHeadStaysTrainable() {
        try (Peft4j peft4j = Peft4j.builder().build(); NDManager m = NDManager.newBaseManager(); BertModel model = Peft4jTest.tinyBert(m)) {
            PluginRegistry registry = peft4j.registry();
            PluginContexts contexts = peft4j.injector().getInstance(PluginContexts.class);
            PluginContext context = contexts.create(model, null, Device.cpu(), null, 3);
            // test-freeze freezes the whole root it is given: the head must be made trainable after it
            ConfiguredComponent method = component(registry, ComponentKind.ADAPTER_METHOD, "test-freeze", "method",
                    Map.of("keep-trainable", List.of("bert.embeddings.word_embeddings.weight")));
            ConfiguredComponent head = component(registry, ComponentKind.TASK_HEAD, "sequence-classification", "head", Map.of("num-labels", 3));
            TrainableModelAssembly.TrainableModel built = TrainableModelAssembly.forModel(model, context, contexts).head(head).method(method)
                    .assemble();
            assertThat(built.backbone()).containsSame(model);
            assertThat(built.root()).isSameAs(built.requireTaskModel().root());
            assertThat(built.root().trainableParameters()).containsOnlyKeys("bert.embeddings.word_embeddings.weight", "classifier.weight",
                    "classifier.bias");
            assertThat(built.adaptation().trainableParameters()).containsOnlyKeys("bert.embeddings.word_embeddings.weight");
        }
    }

    @Test
    void withoutAHeadTheRootIsTheBackbonesAndAMethodIsRequired() {
        try (Peft4j peft4j = Peft4j.builder().build(); NDManager m = NDManager.newBaseManager(); BertModel model = Peft4jTest.tinyBert(m)) {
            PluginContexts contexts = peft4j.injector().getInstance(PluginContexts.class);
            PluginContext context = contexts.create(model, null, Device.cpu(), null, 3);
            assertThatThrownBy(() -> TrainableModelAssembly.forModel(model, context, contexts).assemble())
                    .hasMessageContaining("no adapter method");
            ConfiguredComponent method = component(peft4j.registry(), ComponentKind.ADAPTER_METHOD, "test-freeze", "method",
                    Map.of("keep-trainable", List.of("embeddings.LayerNorm.bias")));
            TrainableModelAssembly.TrainableModel built = TrainableModelAssembly.forModel(model, context, contexts).method(method).assemble();
            assertThat(built.taskModel()).isEmpty();
            assertThat(built.root()).isSameAs(model.module());
            assertThat(model.module().trainableParameters()).containsOnlyKeys("embeddings.LayerNorm.bias");
        }
    }
}
