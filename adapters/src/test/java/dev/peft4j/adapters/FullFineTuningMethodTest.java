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
import dev.peft4j.api.spi.ParameterSchedule;
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
                .isEqualTo(new FullFineTuningConfig(ModulePatterns.names("a", "b.c"), true, 4, -1, 1.0, java.util.Map.of(), 0, ParameterSchedule.Unit.STEPS));
        assertThat(method.parseConfig(section("freeze-layers = 3, layer-lr-decay = 0.8, learning-rate-scale { embeddings = 0.1, "
                + "\"encoder.layer.0\" = 0.5, classifier.weight = 4 }, unfreeze-every = 2, unfreeze-unit = epochs")))
                .isEqualTo(new FullFineTuningConfig(ModulePatterns.none(), false, -1, 3, 0.8,
                        java.util.Map.of("embeddings", 0.1, "encoder.layer.0", 0.5, "classifier.weight", 4.0), 2, ParameterSchedule.Unit.EPOCHS));
        // unquoted dotted keys are nested objects in HOCON: flattened back to the same pattern
        assertThat(method.parseConfig(section("learning-rate-scale { encoder.layer.1 = 2 }")).learningRateScales())
                .containsExactly(java.util.Map.entry("encoder.layer.1", 2.0));
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

    @Test
    void freezeLayersFreezesTheEmbeddingsAndTheBottomLayers() {
        assertThat(trainable("freeze-layers = 0")).isEqualTo(TOTAL - EMBEDDINGS).isEqualTo(14700);
        assertThat(trainable("freeze-layers = 1")).isEqualTo(LAYER + POOLER + HEAD).isEqualTo(7911);
        assertThat(trainable("freeze-layers = 2")).isEqualTo(POOLER + HEAD).isEqualTo(1122);
        assertThatThrownBy(() -> trainable("freeze-layers = 3")).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("freeze-layers = 3, but the model has only 2 layers (bert.encoder.layer.0 ... bert.encoder.layer.1)");
    }

    @Test
    void badScheduleSettingsNameTheKeyAndValue() {
        assertThatThrownBy(() -> method.parseConfig(section("layer-lr-decay = 0"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("layer-lr-decay").hasMessageContaining("is 0, expected a number in (0, 1]");
        assertThatThrownBy(() -> method.parseConfig(section("layer-lr-decay = 1.5"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("layer-lr-decay").hasMessageContaining("is 1.5, expected a number in (0, 1]");
        assertThatThrownBy(() -> method.parseConfig(section("freeze-layers = 1, trainable-layers = 1"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("freeze-layers").hasMessageContaining("trainable-layers = 1 is set too");
        assertThatThrownBy(() -> method.parseConfig(section("unfreeze-every = -1, unfreeze-unit = batches, learning-rate-scale { classifier = 0 }")))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("unfreeze-every").hasMessageContaining("'batches', expected one of [steps, epochs]")
                .hasMessageContaining("entry 'classifier' is 0, expected a number > 0");
        assertThatThrownBy(() -> trainable("learning-rate-scale { classifer = 2 }")).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("learning-rate-scale entries [classifer] match no module path or parameter name")
                .hasMessageContaining("Module names in this model:").hasMessageContaining("classifier");
    }

    /** Every parameter's learning-rate scale and unfreezing stage, exactly as the formula in LayerSchedule says. */
    @Test
    void layerDecayDiscriminativeRatesAndStagesFollowTheFormula() {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            Adaptation a = method.apply(task, method.parseConfig(section("layer-lr-decay = 0.5, unfreeze-every = 3, "
                    + "learning-rate-scale { classifier = 10, \"layer.0.attention\" = 2, attention = 3 }")), TestModels.context(task.bert));
            ParameterSchedule s = a.parameterSchedule();
            assertThat(s.unfreezeEvery()).isEqualTo(3);
            assertThat(s.unfreezeSetting()).isEqualTo("method.unfreeze-every = 3 (method.unfreeze-unit = steps)");
            java.util.Map<String, String> seen = new java.util.LinkedHashMap<>();
            for (String name : task.namedParameters().keySet()) {
                ParameterSchedule.Group g = s.groupOf(name);
                double scale;
                int stage;
                if (name.startsWith("bert.embeddings.")) {
                    scale = 0.25; // d^L, L = 2
                    stage = 2;
                } else if (name.startsWith("bert.encoder.layer.0.")) {
                    // the deepest match wins: "layer.0.attention" (x2) over "attention" (x3)
                    scale = 0.5 * (name.contains(".attention.") ? 2 : 1);
                    stage = 1;
                } else if (name.startsWith("bert.encoder.layer.1.")) {
                    scale = name.contains(".attention.") ? 3 : 1;
                    stage = 0;
                } else {
                    scale = name.startsWith("classifier.") ? 10 : 1; // pooler and head: the base rate
                    stage = 0;
                }
                assertThat(g.learningRateScale()).as(name).isEqualTo(scale);
                assertThat(g.unfreezeStage()).as(name).isEqualTo(stage);
                seen.putIfAbsent(g.name(), name);
            }
            assertThat(seen.keySet()).containsExactly("embeddings", "layer 0 [layer.0.attention]", "layer 0", "layer 1 [attention]", "layer 1", "top",
                    "top [classifier]");
            // names the tree does not know (an objective's projection) are the top group
            assertThat(s.groupOf("objectives.0.projection.weight")).isEqualTo(new ParameterSchedule.Group("top", 1.0, 0));
        }
        // without schedule settings: the default group for every parameter
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            Adaptation a = method.apply(task, method.parseConfig(section("freeze-layers = 1")), TestModels.context(task.bert));
            assertThat(a.parameterSchedule().groupOf("classifier.weight")).isEqualTo(ParameterSchedule.DEFAULT);
            assertThat(a.parameterSchedule().unfreezeEvery()).isZero();
        }
    }
}
