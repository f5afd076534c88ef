package dev.peft4j.adapters;

import dev.peft4j.api.tuner.ModulePatterns;
import static dev.peft4j.adapters.TestModels.EMBEDDINGS;
import static dev.peft4j.adapters.TestModels.HEAD;
import static dev.peft4j.adapters.TestModels.LAYER;
import static dev.peft4j.adapters.TestModels.POOLER;
import static dev.peft4j.adapters.TestModels.TOTAL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.spi.Adaptation;
import org.junit.jupiter.api.Test;

class FullFineTuningMethodTest {
    private final FullFineTuningMethod method = new FullFineTuningMethod();

    private long trainable(String overrides) {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            FullFineTuningConfig config = method.parseConfig(section(overrides));
            Adaptation a = method.apply(task, config, TestModels.context(task.bert));
            long count = a.trainableParameters().values().stream().mapToLong(p -> p.size()).sum();
            assertThat(count).isEqualTo(task.trainableParameterCount());
            assertThat(task.parameterCount()).isEqualTo(TOTAL);
            return count;
        }
    }

    static Config section(String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.methods.full"));
    }

    @Test
    void everythingTrainsByDefault() {
        assertThat(trainable("")).isEqualTo(20044);
    }

    @Test
    void freezeEmbeddingsFreezesTheWholeEmbeddingsModule() {
        assertThat(trainable("freeze-embeddings = true")).isEqualTo(TOTAL - EMBEDDINGS).isEqualTo(14700);
    }

    @Test
    void trainableLayersKeepsTheTopLayersAndWhatFollows() {
        assertThat(trainable("trainable-layers = 1")).isEqualTo(LAYER + POOLER + HEAD).isEqualTo(7911);
        assertThat(trainable("trainable-layers = 0")).isEqualTo(POOLER + HEAD);
        assertThat(trainable("trainable-layers = 2")).isEqualTo(TOTAL - EMBEDDINGS);
    }

    @Test
    void freezePatternsUseLoraMatchingRules() {
        // LayerNorm: embeddings 64 + 2 per layer * 64 * 2 layers = 320 (dotted suffix of module paths)
        assertThat(trainable("freeze = [LayerNorm]")).isEqualTo(TOTAL - 320);
        // "layer.0" is a dotted suffix of bert.encoder.layer.0; query matches layer 1's query too (32*32+32)
        assertThat(trainable("freeze = [\"layer.0\", query]")).isEqualTo(TOTAL - LAYER - 1056);
        // parameter names match too: every bias except the head's (586 backbone biases)
        assertThat(trainable("freeze = [\"bert.encoder.layer.0.attention.self.query.bias\"]")).isEqualTo(TOTAL - 32);
        // a string is a regex matching a whole name: key and value weights, 4 * 32 * 32
        assertThat(trainable("freeze = \".*\\\\.(key|value)\\\\.weight\"")).isEqualTo(TOTAL - 4096);
        // "query" must not match "query2"-like names by substring: "uery" matches nothing
        assertThatThrownBy(() -> trainable("freeze = [uery]")).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("freeze entries [uery] match no module path or parameter name")
                .hasMessageContaining("Module names in this model:");
    }

    @Test
    void badSettingsFailWithTheKey() {
        assertThatThrownBy(() -> trainable("trainable-layers = 3")).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("trainable-layers = 3, but the model has only 2 layers (bert.encoder.layer.0 ... bert.encoder.layer.1)");
        assertThatThrownBy(() -> trainable("freeze = \".*\"")).isInstanceOf(Peft4jException.class).hasMessageContaining("leave nothing trainable");
        assertThatThrownBy(() -> method.parseConfig(section("trainable-layers = -2, freeze = \"(\", freez = []")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("trainable-layers")
                .hasMessageContaining("not a valid regular expression")
                .hasMessageContaining("freez");
    }

    @Test
    void configDefaultsAndFullMapping() {
        assertThat(method.parseConfig(section(""))).isEqualTo(FullFineTuningConfig.all());
        assertThat(method.parseConfig(section("freeze = [a, b.c], freeze-embeddings = true, trainable-layers = 4")))
                .isEqualTo(new FullFineTuningConfig(ModulePatterns.names("a", "b.c"), true, 4));
        assertThat(method.parseConfig(section("freeze = \"x.*\"")).freeze()).isEqualTo(ModulePatterns.regex("x.*"));
    }

    @Test
    void failedApplyChangesNothing() {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            new BitFitMethod().apply(task, new BitFitConfig(java.util.List.of()), TestModels.context(task.bert));
            long before = task.trainableParameterCount();
            assertThatThrownBy(() -> method.apply(task, method.parseConfig(section("freeze = [nope]")), TestModels.context(task.bert)))
                    .isInstanceOf(Peft4jException.class);
            assertThat(task.trainableParameterCount()).isEqualTo(before);
        }
    }
}
