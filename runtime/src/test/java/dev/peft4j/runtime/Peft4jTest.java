package dev.peft4j.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigProblem;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Java API on a tiny random BERT (vocab 50, hidden 16, 2 layers, no pooler). */
class Peft4jTest {
    static BertModel tinyBert(NDManager manager) {
        return BertModel.random(BertConfig.of(50, 16, 2, 2, 24, 32), manager, 1, false);
    }

    @Test
    void adaptsAModelByMethodNameWithoutAConfigFile() {
        try (Peft4j peft4j = Peft4j.builder().build(); NDManager m = NDManager.newBaseManager(); BertModel model = tinyBert(m)) {
            Adaptation lora = peft4j.adapt(model, "lora", Map.of("r", 4, "alpha", 8, "target-modules", List.of("query", "value")));
            assertThat(lora.method()).isEqualTo("lora");
            assertThat(lora.targetedModules()).containsExactly("encoder.layer.0.attention.self.query", "encoder.layer.0.attention.self.value",
                    "encoder.layer.1.attention.self.query", "encoder.layer.1.attention.self.value");
            // 4 modules x (A: 4 x 16 + B: 16 x 4); everything else frozen
            assertThat(model.module().trainableParameterCount()).isEqualTo(4 * (64 + 64));
            assertThat(lora.trainableParameters()).hasSize(8);
        }
    }

    @Test
    void guiceBindsEveryFactoryByItsRegisteredName() {
        try (Peft4j peft4j = Peft4j.builder().build()) {
            Map<String, dev.peft4j.api.spi.AdapterMethodFactory<?>> methods = peft4j.injector()
                    .getInstance(com.google.inject.Key.get(new com.google.inject.TypeLiteral<Map<String, dev.peft4j.api.spi.AdapterMethodFactory<?>>>() {}));
            assertThat(methods.keySet()).containsExactlyInAnyOrderElementsOf(
                    peft4j.registry().names(dev.peft4j.runtime.plugin.ComponentKind.ADAPTER_METHOD)).contains("lora", "test-freeze");
            assertThat(methods.get("lora")).isSameAs(peft4j.registry().adapterMethod("lora"));
            Map<String, dev.peft4j.api.spi.DatasetReaderFactory<?>> readers = peft4j.injector()
                    .getInstance(com.google.inject.Key.get(new com.google.inject.TypeLiteral<Map<String, dev.peft4j.api.spi.DatasetReaderFactory<?>>>() {}));
            assertThat(readers).containsKeys("tsv", "test-lines");
            assertThat(peft4j.injector().getInstance(ExperimentRunner.class)).isInstanceOf(dev.peft4j.runtime.train.TrainingRunner.class);
        }
    }

    @Test
    void loraOnABareModuleFindsNoModelInItsContextAndStillWorks() {
        // PluginContext.model() is empty here (it used to throw, while LoRA tested it for null)
        try (Peft4j peft4j = Peft4j.builder().build(); NDManager m = NDManager.newBaseManager(); BertModel model = tinyBert(m)) {
            Adaptation lora = peft4j.adapt(model.module(), "lora", Map.of("r", 2, "target-modules", List.of("query")));
            assertThat(lora.targetedModules()).containsExactly("encoder.layer.0.attention.self.query", "encoder.layer.1.attention.self.query");
        }
    }

    @Test
    void adaptingABareModuleWorksForMethodsThatNeedNoModel() {
        try (Peft4j peft4j = Peft4j.builder().build(); NDManager m = NDManager.newBaseManager(); BertModel model = tinyBert(m)) {
            Adaptation freeze = peft4j.adapt(model.module(), "test-freeze", Map.of("keep-trainable", List.of("embeddings.word_embeddings.weight")));
            assertThat(freeze.trainableParameters()).containsOnlyKeys("embeddings.word_embeddings.weight");
            assertThat(model.module().trainableParameterCount()).isEqualTo(50 * 16);
        }
    }

    @Test
    void badSettingsAreAllReportedAndUnknownMethodsListTheRegisteredOnes() {
        try (Peft4j peft4j = Peft4j.builder().build(); NDManager m = NDManager.newBaseManager(); BertModel model = tinyBert(m)) {
            assertThatThrownBy(() -> peft4j.adapt(model, "test-freeze", Map.of("scale", 0, "keep", List.of())))
                    .isInstanceOfSatisfying(InvalidConfigException.class, e -> assertThat(e.problems()).extracting(ConfigProblem::key)
                            .containsExactly("method.scale", "method.keep"));
            assertThatThrownBy(() -> peft4j.adapt(model, "test-freez", Map.of())).isInstanceOf(Peft4jException.class)
                    .hasMessageStartingWith("unknown adapter method 'test-freez' (did you mean 'test-freeze'?); registered adapter methods: ");
            assertThat(model.module().trainableParameterCount()).isEqualTo(model.module().parameterCount());
        }
    }

    @Test
    void runsAnExperimentGivenAsAConfigWithOverrides(@TempDir Path tmp) throws Exception {
        Config config = ConfigFactory.parseString("""
                model.source = "tiny random BERT"
                method { name = lora, target-modules = [query] }
                head { name = sequence-classification, num-labels = 3, dropout = 0.0 }
                run.dir = "%s"
                """.formatted(tmp.resolve("run")));
        try (NDManager m = NDManager.newBaseManager();
                Peft4j peft4j = Peft4j.builder()
                        .override(binder -> {
                            binder.bind(ModelLoader.class).toInstance(settings -> new ModelLoader.LoadedModel(tinyBert(m), Optional.empty()));
                            binder.bind(ExperimentRunner.class).to(AdaptOnlyRunner.class); // build the model, do not train
                        })
                        .build()) {
            RunResult result = peft4j.experiment(config, "method.r=2").run();
            // LoRA r=2 on 2 query linears: 2 x (2 x 16 + 16 x 2); classifier 3 x 16 + 3
            assertThat(result.metrics().get("trainable_parameters")).isEqualTo(2 * 64 + 51.0);
            String resolved = Files.readString(tmp.resolve("run").resolve("resolved.conf"));
            assertThat(ConfigFactory.parseString(resolved).getInt("method.r")).isEqualTo(2);
            assertThat(ConfigFactory.parseString(resolved).getString("method.init")).isEqualTo("kaiming");
            assertThat(Files.readString(tmp.resolve("run").resolve("summary.txt"))).contains("classifier.weight (3, 16)");
        }
    }

    @Test
    void theTrainersRangeChecksRunDuringValidation(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("t.conf"), "model.source = x\nmethod.name = lora\ntrain {\n  epochs = 0\n  schedule = cosin\n}\n");
        try (Peft4j peft4j = Peft4j.builder().build()) {
            assertThatThrownBy(() -> peft4j.experiment(file).validate()).isInstanceOfSatisfying(InvalidConfigException.class,
                    e -> assertThat(e.problems()).extracting(ConfigProblem::toString).containsExactly(
                            file + ":4: train.epochs: is 0, expected an integer in [1, 100000]",
                            file + ":5: train.schedule: is 'cosin', expected one of [constant, linear, cosine] (did you mean 'cosine'?)"));
        }
    }

    @Test
    void pluginCodeRunsWithThePluginsContextClassLoader(@TempDir Path tmp) throws Exception {
        // a method whose parsed "config" is the context class loader seen inside parseConfig
        Path plugins = Files.createDirectories(tmp.resolve("plugins"));
        dev.peft4j.runtime.plugin.JarBuilder.jar(plugins.resolve("ccl.jar"), Map.of("acme/Ccl.java", """
                package acme;
                import dev.peft4j.api.spi.*;
                import java.util.List;
                public final class Ccl implements Peft4jPlugin {
                    public int spiVersion() { return SpiVersion.CURRENT; }
                    public String name() { return "ccl"; }
                    public List<AdapterMethodFactory<?>> adapterMethods() {
                        return List.of(new AdapterMethodFactory<Object>() {
                            public String name() { return "ccl-method"; }
                            public Object parseConfig(com.typesafe.config.Config c) { return Thread.currentThread().getContextClassLoader(); }
                            public Adaptation apply(dev.peft4j.api.nn.Module root, Object c, PluginContext ctx) { return null; }
                        });
                    }
                }
                """), dev.peft4j.runtime.plugin.JarBuilder.services("acme.Ccl"));
        Path file = Files.writeString(tmp.resolve("e.conf"), "model.source = x\nmethod.name = ccl-method\nplugins.dir = \"" + plugins + "\"\n");
        try (Peft4j peft4j = Peft4j.builder().build()) {
            Object seen = peft4j.experiment(file).validate().method().config();
            assertThat(seen).isInstanceOf(dev.peft4j.runtime.plugin.PluginClassLoader.class);
            assertThat(((dev.peft4j.runtime.plugin.PluginClassLoader) seen).source()).isEqualTo(plugins.resolve("ccl.jar").toString());
            assertThat(Thread.currentThread().getContextClassLoader()).isNotSameAs(seen);
        }
    }

    @Test
    void aPluginsDirThatIsNotADirectoryIsAConfigProblemWithItsLine(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("p.conf"), "model.source = x\nmethod.name = lora\nplugins.dir = \"" + tmp.resolve("nope") + "\"\n");
        try (Peft4j peft4j = Peft4j.builder().build()) {
            assertThatThrownBy(() -> peft4j.experiment(file).validate()).isInstanceOfSatisfying(InvalidConfigException.class,
                    e -> assertThat(e.problems()).extracting(ConfigProblem::toString)
                            .containsExactly(file + ":3: plugins.dir: is '" + tmp.resolve("nope") + "', which is not a directory"));
        }
    }

    @Test
    void anInvalidExperimentRunsNothing(@TempDir Path tmp) {
        Config config = ConfigFactory.parseString("model.source = x\nmethod.name = lora\nmethod.r = -1\nrun.dir = \"" + tmp.resolve("run") + "\"");
        try (Peft4j peft4j = Peft4j.builder().build()) {
            assertThatThrownBy(() -> peft4j.experiment(config).run()).isInstanceOf(InvalidConfigException.class).hasMessageContaining("method.r");
        }
        assertThat(tmp.resolve("run")).doesNotExist();
    }
}
