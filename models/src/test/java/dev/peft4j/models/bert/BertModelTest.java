package dev.peft4j.models.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import ai.djl.ndarray.NDList;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.models.Engines;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BertModelTest {
    static final BertConfig TINY = BertConfig.of(50, 16, 2, 4, 24, 20);
    static NDManager base;

    @BeforeAll
    static void start() {
        Engines.pytorch();
        base = NDManager.newBaseManager();
    }

    @AfterAll
    static void stop() {
        base.close();
    }

    @Test
    void moduleTreeHasExactlyHfNamesAndFormulaParameterCount() {
        try (BertModel model = BertModel.random(TINY, base, 1)) {
            List<String> expected = new ArrayList<>(List.of(
                    "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                    "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"));
            for (int i = 0; i < 2; i++) {
                String p = "encoder.layer." + i + ".";
                for (String lin : List.of("attention.self.query", "attention.self.key", "attention.self.value",
                        "attention.output.dense")) {
                    expected.add(p + lin + ".weight");
                    expected.add(p + lin + ".bias");
                }
                expected.addAll(List.of(p + "attention.output.LayerNorm.weight", p + "attention.output.LayerNorm.bias",
                        p + "intermediate.dense.weight", p + "intermediate.dense.bias", p + "output.dense.weight",
                        p + "output.dense.bias", p + "output.LayerNorm.weight", p + "output.LayerNorm.bias"));
            }
            expected.addAll(List.of("pooler.dense.weight", "pooler.dense.bias"));
            assertThat(model.module().namedParameters().keySet()).containsExactlyElementsOf(expected);

            long v = 50, h = 16, l = 2, i = 24, p = 20, t = 2;
            long embeddings = (v + p + t) * h + 2 * h;
            long layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h;
            long pooler = h * h + h;
            assertThat(model.module().parameterCount()).isEqualTo(embeddings + l * layer + pooler).isEqualTo(5376);
            assertThat(model.module().find("encoder.layer.1.attention.self").type()).isEqualTo(ModuleType.ATTENTION);
            assertThat(model.module().find("encoder.layer.1").type()).isEqualTo(ModuleType.LAYER);
            assertThat(model.module().find("encoder").type()).isEqualTo(ModuleType.ENCODER);
            assertThat(model.module().find("embeddings").type()).isEqualTo(ModuleType.EMBEDDINGS);
            assertThat(model.module().find("pooler").type()).isEqualTo(ModuleType.POOLER);
            assertThat(model.module().find("encoder.layer.0.attention.self.dropout").type()).isEqualTo(ModuleType.DROPOUT);
            assertThat(model.baseModelPrefix()).isEqualTo("bert");
        }
        try (BertModel noPooler = BertModel.random(TINY, base, 1, false)) {
            assertThat(noPooler.module().parameterCount()).isEqualTo(5376 - 16 * 16 - 16);
            assertThat(noPooler.hasPooler()).isFalse();
        }
    }

    @Test
    void forwardShapesAndHiddenStates() {
        try (BertModel model = BertModel.random(TINY, base, 2); NDManager step = base.newSubManager()) {
            ModelInput in = new ModelInput(step.create(new long[][] {{2, 5, 7, 3}, {2, 9, 3, 0}}),
                    step.create(new long[][] {{1, 1, 1, 1}, {1, 1, 1, 0}}));
            ForwardContext ctx = ForwardContext.inference(step).setAttribute(BertModel.OUTPUT_HIDDEN_STATES, true);
            ModelOutput out = model.forward(in, ctx);
            assertThat(out.lastHiddenState().getShape()).isEqualTo(new Shape(2, 4, 16));
            assertThat(out.pooled().getShape()).isEqualTo(new Shape(2, 16));
            assertThat(out.logits()).isNull();
            assertThat(out.hiddenStates()).hasSize(3);
            assertThat(out.hiddenStates().get(2)).isSameAs(out.lastHiddenState());
            ModelOutput plain = model.forward(in, ForwardContext.inference(step));
            assertThat(plain.hiddenStates()).isEmpty();
            assertThat(maxAbsDiff(plain.lastHiddenState(), out.lastHiddenState())).isZero();
        }
    }

    @Test
    void paddingDoesNotChangeRealTokens() {
        try (BertModel model = BertModel.random(TINY, base, 3); NDManager step = base.newSubManager()) {
            long[] sentence = {2, 11, 17, 23, 3};
            ModelOutput alone = model.forward(new ModelInput(step.create(new long[][] {sentence}),
                    step.create(new long[][] {{1, 1, 1, 1, 1}}), step.create(new long[][] {{0, 0, 1, 1, 1}}), null),
                    ForwardContext.inference(step));
            long[][] ids = {{2, 11, 17, 23, 3, 0, 0, 0, 0}, {2, 4, 5, 6, 7, 8, 9, 10, 3}};
            long[][] mask = {{1, 1, 1, 1, 1, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 1, 1}};
            long[][] types = {{0, 0, 1, 1, 1, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 0}};
            ModelOutput batch = model.forward(new ModelInput(step.create(ids), step.create(mask), step.create(types), null),
                    ForwardContext.inference(step));
            NDArray real = batch.lastHiddenState().get("0:1, 0:5, :");
            assertThat(maxAbsDiff(real, alone.lastHiddenState())).isLessThan(1e-5f);
            assertThat(maxAbsDiff(batch.pooled().get("0:1, :"), alone.pooled())).isLessThan(1e-5f);
            // the padded row's real tokens differ from the other row's: the mask matters, not just the shape
            assertThat(maxAbsDiff(batch.lastHiddenState().get("1:2, 0:5, :"), alone.lastHiddenState())).isGreaterThan(1e-3f);
        }
    }

    @Test
    void float16InferenceTracksFloat32() {
        try (BertModel model = BertModel.random(TINY, base, 6); NDManager step = base.newSubManager()) {
            ModelInput in = new ModelInput(step.create(new long[][] {{2, 5, 7, 3, 9}, {2, 9, 3, 0, 0}}),
                    step.create(new long[][] {{1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}}));
            NDArray full = model.forward(in, ForwardContext.inference(step)).lastHiddenState();
            model.module().namedParameters().values().forEach(p -> p.setValue(p.value().toType(DataType.FLOAT16, true)));
            NDArray half = model.forward(in, ForwardContext.inference(step)).lastHiddenState();
            assertThat(half.getDataType()).isEqualTo(DataType.FLOAT16);
            // real tokens of the padded row: the mask is built in fp16 (constant finfo(float16).min)
            float diff = maxAbsDiff(half.toType(DataType.FLOAT32, false).get("1:2, 0:3, :"), full.get("1:2, 0:3, :"));
            assertThat(diff).isLessThan(2e-2f);
        }
    }

    @Test
    void rejectsUnsupportedConfig() {
        Map<String, Object> values = new HashMap<>(TINY.toConfigJson());
        values.put("hidden_act", "relu");
        assertThatThrownBy(() -> BertConfig.from(new ModelConfig(values, "/x/config.json")))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("/x/config.json")
                .hasMessageContaining("hidden_act").hasMessageContaining("relu");
        values.put("hidden_act", "gelu");
        values.put("position_embedding_type", "relative_key");
        assertThatThrownBy(() -> BertConfig.from(new ModelConfig(values, "/x/config.json")))
                .hasMessageContaining("position_embedding_type").hasMessageContaining("absolute");
        values.remove("position_embedding_type");
        values.remove("num_attention_heads");
        assertThatThrownBy(() -> BertConfig.from(new ModelConfig(values, "/x/config.json")))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("num_attention_heads")
                .hasMessageContaining("/x/config.json");
    }

    @Test
    void padTokenIdFollowsHf() {
        Map<String, Object> values = new HashMap<>(TINY.toConfigJson());
        assertThat(BertConfig.from(new ModelConfig(values, "c")).padTokenId()).isZero();
        values.put("pad_token_id", 7L);
        assertThat(BertConfig.from(new ModelConfig(values, "c")).padTokenId()).isEqualTo(7);
        values.put("pad_token_id", null); // explicit null: no padding_idx
        assertThat(BertConfig.from(new ModelConfig(values, "c")).padTokenId()).isEqualTo(-1);
        values.remove("pad_token_id"); // absent: HF's default 0
        assertThat(BertConfig.from(new ModelConfig(values, "c")).padTokenId()).isZero();
    }

    @Test
    void adapterReplacementIsSeenAtForwardTime() {
        try (BertModel model = BertModel.random(TINY, base, 4); NDManager step = base.newSubManager()) {
            ModelInput in = new ModelInput(step.create(new long[][] {{2, 5, 7, 3}}), step.create(new long[][] {{1, 1, 1, 1}}));
            NDArray before = model.forward(in, ForwardContext.inference(step)).lastHiddenState();
            model.module().replace("encoder.layer.0.attention.self.value",
                    old -> new Linear(model.manager(), 16, 16, true)); // zeros: value path now contributes nothing
            NDArray after = model.forward(in, ForwardContext.inference(step)).lastHiddenState();
            assertThat(maxAbsDiff(before, after)).isGreaterThan(1e-3f);

            // wrapping the whole embeddings module: the wrapper gets ids, token types and positions
            List<Integer> inputCounts = new ArrayList<>();
            model.module().replace("embeddings", old -> new Module(ModuleType.CONTAINER) {
                {
                    addChild("base_layer", old);
                }

                @Override
                public NDList forward(NDList inputs, ForwardContext context) {
                    inputCounts.add(inputs.size());
                    return child("base_layer").forward(inputs, context);
                }
            });
            NDArray wrapped = model.forward(in, ForwardContext.inference(step)).lastHiddenState();
            assertThat(inputCounts).containsExactly(3);
            assertThat(maxAbsDiff(wrapped, after)).isZero();
            assertThat(model.module().namedParameters()).containsKey("embeddings.base_layer.word_embeddings.weight");
        }
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }
}
