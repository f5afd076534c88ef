package dev.peft4j.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Module;
import dev.peft4j.lora.LoraConfig.ModuleSelector;
import dev.peft4j.models.bert.BertModel;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** PEFT's target rules (check_target_module_exists, all-linear, get_pattern_key) on a BERT + classifier tree. */
class TargetSelectorTest {
    static NDManager manager;
    static Module root;

    @BeforeAll
    static void build() {
        manager = NDManager.newBaseManager();
        BertModel bert = TestModels.randomBert(manager, 1);
        root = new TestModels.Classifier(bert, TestModels.randomLinear(manager, 16, 3, true, false, new Random(1)));
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    static List<String> select(LoraConfig.Builder b) {
        return TargetSelector.select(root, b.build(), "bert");
    }

    @Test
    void listEntriesMatchExactNamesOrDottedSuffixes() {
        assertThat(select(LoraConfig.builder().targetModules("query"))).containsExactly(
                "bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.1.attention.self.query");
        assertThat(select(LoraConfig.builder().targetModules("attention.output.dense", "classifier"))).containsExactly(
                "bert.encoder.layer.0.attention.output.dense", "bert.encoder.layer.1.attention.output.dense", "classifier");
        // "uery" is not a dotted suffix
        assertThatThrownBy(() -> select(LoraConfig.builder().targetModules("uery"))).isInstanceOf(Peft4jException.class);
    }

    @Test
    void aStringIsAFullMatchRegex() {
        assertThat(select(LoraConfig.builder().targetRegex(".*layer\\.1\\..*(query|value)"))).containsExactly(
                "bert.encoder.layer.1.attention.self.query", "bert.encoder.layer.1.attention.self.value");
        // full match: a substring is not enough
        assertThatThrownBy(() -> select(LoraConfig.builder().targetRegex("query"))).isInstanceOf(Peft4jException.class);
    }

    @Test
    void excludeModulesLayersToTransformAndDefaults() {
        assertThat(select(LoraConfig.builder().targetModules("query", "value").excludeModules(ModuleSelector.names("layer.0.attention.self.value"))))
                .containsExactly("bert.encoder.layer.0.attention.self.query", "bert.encoder.layer.1.attention.self.query",
                        "bert.encoder.layer.1.attention.self.value");
        assertThat(select(LoraConfig.builder().targetModules("query").excludeModules(ModuleSelector.regex(".*layer\\.0\\..*"))))
                .containsExactly("bert.encoder.layer.1.attention.self.query");
        assertThat(select(LoraConfig.builder().targetModules("query", "value").layersToTransform(List.of(1))))
                .containsExactly("bert.encoder.layer.1.attention.self.query", "bert.encoder.layer.1.attention.self.value");
        assertThat(select(LoraConfig.builder().targetModules("query").layersToTransform(List.of(0)).layersPattern(List.of("layer"))))
                .containsExactly("bert.encoder.layer.0.attention.self.query");
        assertThat(select(LoraConfig.builder())).hasSize(4).allMatch(p -> p.endsWith("query") || p.endsWith("value"));
    }

    @Test
    void peftLayerIndexExtractionTakesTheFirstNumberedSegment() {
        assertThat(TargetSelector.layerIndex("model.layers.3.mlp.experts.0.up_proj", null)).isEqualTo(3);
        assertThat(TargetSelector.layerIndex("bert.encoder.layer.1.attention.self.query", List.of("layer"))).isEqualTo(1);
        assertThat(TargetSelector.layerIndex("transformer.h.11.attn.c_attn", List.of("h"))).isEqualTo(11);
        assertThat(TargetSelector.layerIndex("layer.0.query", null)).isNull(); // PEFT's regex needs a segment before
        assertThat(TargetSelector.layerIndex("lm_head", null)).isNull();
    }

    @Test
    void allLinearTakesEveryLinearButTheOutputHead() {
        List<String> all = select(LoraConfig.builder().targetRegex("all-linear"));
        assertThat(all).hasSize(2 * 6 + 1).contains("bert.pooler.dense").doesNotContain("classifier");
    }

    @Test
    void rankAndAlphaPatternsUsePeftKeyMatching() {
        assertThat(TargetSelector.patternKey(List.of("layer.0.attention.self.query", "value"), "bert.encoder.layer.0.attention.self.query"))
                .isEqualTo("layer.0.attention.self.query");
        assertThat(TargetSelector.patternKey(List.of("^bert.*query"), "bert.encoder.layer.0.attention.self.query")).isEqualTo("^bert.*query");
        assertThat(TargetSelector.patternKey(List.of("uery"), "bert.encoder.layer.0.attention.self.query")).isNull();
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = TestModels.randomBert(m, 1)) {
            LoraModel lora = LoraModel.create(bert.module(), LoraConfig.builder().r(4).alpha(8).targetModules("query", "value")
                    .rankPattern(Map.of("layer.1.attention.self.query", 2)).alphaPattern(Map.of("value", 32.0)).build(), "bert", 1);
            LoraLinear q1 = (LoraLinear) bert.module().find("encoder.layer.1.attention.self.query");
            LoraLinear q0 = (LoraLinear) bert.module().find("encoder.layer.0.attention.self.query");
            LoraLinear v0 = (LoraLinear) bert.module().find("encoder.layer.0.attention.self.value");
            assertThat(q1.spec("default").r()).isEqualTo(2);
            assertThat(q1.spec("default").scaling()).isEqualTo(4.0);
            assertThat(q0.spec("default").r()).isEqualTo(4);
            assertThat(v0.spec("default").scaling()).isEqualTo(8.0);
            assertThat(lora.stateDict().get("base_model.model.encoder.layer.1.attention.self.query.lora_A.weight").getShape().get(0)).isEqualTo(2);
        }
    }

    @Test
    void zeroMatchesListsExistingNamesAndNonLinearMatchesAreRefused() {
        assertThatThrownBy(() -> select(LoraConfig.builder().targetModules("q_proj", "v_proj")))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("[q_proj, v_proj] matched no Linear module")
                .hasMessageContaining("[query, key, value, dense, classifier]")
                .hasMessageContaining("bert.encoder.layer.0.attention.self.query");
        assertThatThrownBy(() -> select(LoraConfig.builder().targetModules("LayerNorm")))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("only Linear modules").hasMessageContaining("LayerNorm");
        assertThatThrownBy(() -> TargetSelector.select(root, LoraConfig.builder().build(), "t5"))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("model type 't5' has no default");
    }

    @Test
    void modulesToSaveAreNeverTargetedAndMustExist() {
        assertThat(select(LoraConfig.builder().targetRegex("all-linear").modulesToSave(List.of("pooler")))).doesNotContain("bert.pooler.dense");
        assertThat(TargetSelector.modulesToSave(root, List.of("classifier", "score"))).containsExactly("classifier");
        assertThatThrownBy(() -> TargetSelector.modulesToSave(root, List.of("score"))).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("modules-to-save [score] matched no module");
    }
}
