package dev.peft4j.models.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.generation.TestFixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class LlamaForCausalLMTest {
    static Path stories() {
        String data = java.util.Optional.of(System.getProperty("peft4j.data", "")).filter(p -> !p.isBlank()).map(p -> java.nio.file.Path.of(System.getProperty("peft4j.root", "")).resolve(p).normalize().toString()).orElse("");
        Path dir = data.isEmpty() ? null : Path.of(data, "tinystories-260k");
        Assumptions.assumeTrue(dir != null && Files.isDirectory(dir), "peft4j.data/tinystories-260k not available");
        return dir;
    }

    static LlamaForCausalLM load(Path dir, NDManager manager) throws Exception {
        return LlamaLoader.load(dir.resolve("model.safetensors"), TestFixtures.config(dir), Device.cpu());
    }

    @SuppressWarnings("unchecked")
    static float maxDiffAtRealPositions(NDArray logits, Map<String, Object> expected) {
        List<Double> values = (List<Double>) expected.get("logits");
        List<Double> shape = (List<Double>) expected.get("logits_shape");
        long b = shape.get(0).longValue();
        long t = shape.get(1).longValue();
        long v = shape.get(2).longValue();
        assertThat(logits.getShape()).isEqualTo(new Shape(b, t, v));
        List<List<Double>> mask = (List<List<Double>>) expected.get("attention_mask");
        float[] actual = logits.toFloatArray();
        float max = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                if (mask != null && mask.get(i).get(j) == 0) {
                    continue;
                }
                for (int k = 0; k < v; k++) {
                    int idx = (int) ((i * t + j) * v + k);
                    max = Math.max(max, Math.abs(actual[idx] - values.get(idx).floatValue()));
                }
            }
        }
        return max;
    }

    @SuppressWarnings("unchecked")
    static NDArray ids(NDManager m, Object rows) {
        List<List<Double>> list = (List<List<Double>>) rows;
        long[] flat = list.stream().flatMap(List::stream).mapToLong(Double::longValue).toArray();
        return m.create(flat, new Shape(list.size(), list.get(0).size()));
    }

    @Test
    void treeHasHfNamesAndCountsForTiedAndUntied() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, Object> values = new LinkedHashMap<>(Map.of("model_type", "llama", "vocab_size", 32, "hidden_size", 16,
                    "intermediate_size", 24, "num_hidden_layers", 2, "num_attention_heads", 4, "num_key_value_heads", 2,
                    "tie_word_embeddings", true));
            try (LlamaForCausalLM tied = LlamaForCausalLM.random(LlamaConfig.fromMap(values), m, 1)) {
                assertThat(tied.module().namedParameters().keySet()).startsWith("model.embed_tokens.weight",
                        "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
                        "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
                        "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight",
                        "model.layers.0.mlp.down_proj.weight", "model.layers.0.input_layernorm.weight",
                        "model.layers.0.post_attention_layernorm.weight").endsWith("model.norm.weight");
                assertThat(tied.module().namedModules()).containsKey("lm_head");
                // embed 32*16 + per layer (q 16*16 + k 8*16 + v 8*16 + o 16*16 + 3 * 16*24 + 2*16) + norm 16
                long perLayer = 256 + 128 + 128 + 256 + 3 * 384 + 32;
                assertThat(tied.module().parameterCount()).isEqualTo(512 + 2 * perLayer + 16);
            }
            values.put("tie_word_embeddings", false);
            try (LlamaForCausalLM untied = LlamaForCausalLM.random(LlamaConfig.fromMap(values), m, 1)) {
                assertThat(untied.module().namedParameters()).containsKey("lm_head.weight");
                assertThat(untied.module().namedParameters().get("lm_head.weight").shape()).isEqualTo(new Shape(32, 16));
            }
        }
    }

    @Test
    void configErrorsNameTheField() {
        Map<String, Object> base = new LinkedHashMap<>(Map.of("model_type", "llama", "vocab_size", 32, "hidden_size", 16,
                "intermediate_size", 24, "num_hidden_layers", 2, "num_attention_heads", 4));
        Map<String, Object> yarn = new LinkedHashMap<>(base);
        yarn.put("rope_scaling", Map.of("rope_type", "yarn", "factor", 4.0));
        assertThatThrownBy(() -> LlamaConfig.fromMap(yarn)).isInstanceOf(Peft4jException.class).hasMessageContaining("\"yarn\"");
        Map<String, Object> gelu = new LinkedHashMap<>(base);
        gelu.put("hidden_act", "gelu");
        assertThatThrownBy(() -> LlamaConfig.fromMap(gelu)).isInstanceOf(Peft4jException.class).hasMessageContaining("hidden_act");
        Map<String, Object> kv = new LinkedHashMap<>(base);
        kv.put("num_key_value_heads", 3);
        assertThatThrownBy(() -> LlamaConfig.fromMap(kv)).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("num_key_value_heads 3");
        assertThat(LlamaConfig.fromMap(base).numKeyValueHeads()).isEqualTo(4);
        assertThat(LlamaConfig.fromMap(base).headDim()).isEqualTo(4);
    }

    @Test
    void llama3RopeScalingMatchesTransformers() {
        Map<String, Object> values = new LinkedHashMap<>(Map.of("model_type", "llama", "vocab_size", 32, "hidden_size", 64,
                "intermediate_size", 24, "num_hidden_layers", 1, "num_attention_heads", 1, "rope_theta", 500000.0));
        values.put("rope_scaling", Map.of("rope_type", "llama3", "factor", 8.0, "low_freq_factor", 1.0, "high_freq_factor", 4.0,
                "original_max_position_embeddings", 8192));
        float[] inv = LlamaRotaryEmbedding.inverseFrequencies(LlamaConfig.fromMap(values));
        // transformers 4.46 ROPE_INIT_FUNCTIONS["llama3"] for head_dim 64, theta 5e5: indices 0, 12, 20, 31
        assertThat(inv[0]).isEqualTo(1.0f);
        assertThat(inv[12]).isCloseTo(EXPECTED_LLAMA3[0], org.assertj.core.data.Percentage.withPercentage(1e-4));
        assertThat(inv[20]).isCloseTo(EXPECTED_LLAMA3[1], org.assertj.core.data.Percentage.withPercentage(1e-4));
        assertThat(inv[31]).isCloseTo(EXPECTED_LLAMA3[2], org.assertj.core.data.Percentage.withPercentage(1e-4));
    }

    static final float[] EXPECTED_LLAMA3 = {0.00729266507551074f, 3.428102354519069e-05f, 3.76732259610435e-07f};

    @Test
    void tinyLlamaMatchesTransformers() throws Exception {
        Path dir = TestFixtures.resource("tiny-llama");
        Map<String, Object> expected = TestFixtures.json(dir.resolve("expected.json"));
        try (NDManager m = NDManager.newBaseManager(); LlamaForCausalLM model = load(dir, m)) {
            assertThat(model.llamaConfig().numKeyValueHeads()).isEqualTo(2);
            assertThat(model.llamaConfig().tieWordEmbeddings()).isFalse();
            NDArray ids = ids(m, expected.get("input_ids"));
            NDArray mask = ids(m, expected.get("attention_mask"));
            ModelOutput out = model.forward(new ModelInput(ids, mask),
                    ForwardContext.inference(m).setAttribute(BertModel.OUTPUT_HIDDEN_STATES, true));
            @SuppressWarnings("unchecked")
            List<List<Double>> states = (List<List<Double>>) expected.get("hidden_states");
            assertThat(out.hiddenStates()).hasSize(states.size()).hasSize(3);
            float stateDiff = 0;
            float[] mk = mask.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
            for (int s = 0; s < states.size(); s++) {
                float[] a = out.hiddenStates().get(s).toFloatArray();
                int d = a.length / mk.length;
                for (int i = 0; i < a.length; i++) {
                    if (mk[i / d] != 0) {
                        stateDiff = Math.max(stateDiff, Math.abs(a[i] - states.get(s).get(i).floatValue()));
                    }
                }
            }
            assertThat(stateDiff).isLessThan(1e-4f);
            float diff = maxDiffAtRealPositions(out.logits(), expected);
            System.out.println("tiny-llama max |logit diff| vs transformers: " + diff);
            assertThat(diff).isLessThan(1e-4f);
        }
    }

    @Test
    void stories260kLogitsMatchTransformers() throws Exception {
        Path dir = stories();
        Map<String, Object> expected = TestFixtures.json(TestFixtures.resource("tinystories-260k-logits.json"));
        try (NDManager m = NDManager.newBaseManager(); LlamaForCausalLM model = load(dir, m)) {
            assertThat(model.module().parameterCount()).isEqualTo(260_032L);
            @SuppressWarnings("unchecked")
            long[] flat = ((List<Double>) expected.get("input_ids")).stream().mapToLong(Double::longValue).toArray();
            NDArray ids = m.create(flat, new Shape(1, flat.length));
            NDArray mask = m.ones(new Shape(1, flat.length), ai.djl.ndarray.types.DataType.INT64);
            ModelOutput out = model.forward(new ModelInput(ids, mask), ForwardContext.inference(m));
            float diff = maxDiffAtRealPositions(out.logits(), expected);
            System.out.println("stories260K max |logit diff| vs transformers (20 positions): " + diff);
            assertThat(diff).isLessThan(1e-4f);
        }
    }
}
