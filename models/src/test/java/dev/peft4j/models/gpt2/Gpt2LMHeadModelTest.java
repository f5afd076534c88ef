package dev.peft4j.models.gpt2;

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
import dev.peft4j.api.nn.Linear;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.models.Models;
import dev.peft4j.models.generation.TestFixtures;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Gpt2LMHeadModelTest {
    static Gpt2LMHeadModel loadTiny(NDManager m) throws Exception {
        Path dir = TestFixtures.resource("tiny-gpt2");
        return Gpt2Loader.load(dir.resolve("model.safetensors"), TestFixtures.config(dir), Device.cpu());
    }

    @Test
    void treeHasHfNamesConv1dLayoutAndTiedHead() {
        try (NDManager m = NDManager.newBaseManager();
                Gpt2LMHeadModel model = Gpt2LMHeadModel.random(Gpt2Config.fromMap(Map.of("model_type", "gpt2", "vocab_size", 50,
                        "n_positions", 16, "n_embd", 8, "n_layer", 2, "n_head", 2)), m, 3)) {
            assertThat(model.module().namedParameters().keySet()).containsExactly("transformer.wte.weight",
                    "transformer.wpe.weight", "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias",
                    "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias",
                    "transformer.h.0.attn.c_proj.weight", "transformer.h.0.attn.c_proj.bias", "transformer.h.0.ln_2.weight",
                    "transformer.h.0.ln_2.bias", "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_fc.bias",
                    "transformer.h.0.mlp.c_proj.weight", "transformer.h.0.mlp.c_proj.bias", "transformer.h.1.ln_1.weight",
                    "transformer.h.1.ln_1.bias", "transformer.h.1.attn.c_attn.weight", "transformer.h.1.attn.c_attn.bias",
                    "transformer.h.1.attn.c_proj.weight", "transformer.h.1.attn.c_proj.bias", "transformer.h.1.ln_2.weight",
                    "transformer.h.1.ln_2.bias", "transformer.h.1.mlp.c_fc.weight", "transformer.h.1.mlp.c_fc.bias",
                    "transformer.h.1.mlp.c_proj.weight", "transformer.h.1.mlp.c_proj.bias", "transformer.ln_f.weight",
                    "transformer.ln_f.bias");
            Linear cAttn = (Linear) model.module().find("transformer.h.0.attn.c_attn");
            assertThat(cAttn.fanInFanOut()).isTrue();
            assertThat(cAttn.weight().getShape()).isEqualTo(new Shape(8, 24));
            assertThat(model.baseModelPrefix()).isEqualTo("transformer");
        }
    }

    @Test
    void savesHfLayoutAndLoadsBackIdentically(@TempDir Path tmp) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Gpt2LMHeadModel model = loadTiny(m)) {
            Models.save(model, tmp);
            try (SafetensorsFile saved = SafetensorsFile.open(tmp.resolve("model.safetensors"));
                    SafetensorsFile original = SafetensorsFile.open(TestFixtures.resource("tiny-gpt2/model.safetensors"))) {
                // Tied head: no lm_head.weight; Conv1D weights stay [in, out] as HF writes them.
                assertThat(saved.names()).containsExactlyInAnyOrderElementsOf(original.names());
                assertThat(saved.entry("transformer.h.0.attn.c_attn.weight").djlShape()).isEqualTo(new Shape(32, 96));
            }
            try (TransformerModel reloaded = Models.load(tmp, Device.cpu())) {
                NDArray ids = m.create(new long[] {5, 17, 42, 3}, new Shape(1, 4));
                NDArray mask = m.ones(new Shape(1, 4), ai.djl.ndarray.types.DataType.INT64);
                NDArray a = model.forward(new ModelInput(ids, mask), ForwardContext.inference(m)).logits();
                NDArray b = reloaded.forward(new ModelInput(ids, mask), ForwardContext.inference(m)).logits();
                assertThat(a.sub(b).abs().max().getFloat()).isEqualTo(0f);
            }
        }
    }

    @Test
    void unsupportedActivationIsAClearError() {
        assertThatThrownBy(() -> Gpt2Config.fromMap(Map.of("model_type", "gpt2", "vocab_size", 50, "n_positions", 16, "n_embd", 8,
                "n_layer", 2, "n_head", 2, "activation_function", "relu")))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("\"relu\"");
    }

    @Test
    void tinyGpt2MatchesTransformers() throws Exception {
        Map<String, Object> expected = TestFixtures.json(TestFixtures.resource("tiny-gpt2/expected.json"));
        try (NDManager m = NDManager.newBaseManager(); Gpt2LMHeadModel model = loadTiny(m)) {
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
            float diff = maxDiff(out.logits(), expected);
            System.out.println("tiny-gpt2 max |logit diff| vs transformers: " + diff);
            assertThat(diff).isLessThan(1e-4f);
        }
    }

    @Test
    void loadsBareGpt2ModelLayoutAndSkipsMaskBuffersByName(@TempDir Path tmp) throws Exception {
        Map<String, Object> expected = TestFixtures.json(TestFixtures.resource("tiny-gpt2/expected.json"));
        Path dir = TestFixtures.resource("tiny-gpt2");
        try (NDManager m = NDManager.newBaseManager(); SafetensorsFile source = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            // The original hub layout: GPT2Model names without "transformer.", plus causal-mask buffers.
            Map<String, NDArray> bare = new LinkedHashMap<>();
            for (String name : source.names()) {
                bare.put(name.substring("transformer.".length()), source.load(name, m));
            }
            bare.put("h.0.attn.bias", m.ones(new Shape(1, 1, 32, 32)));
            bare.put("h.1.attn.masked_bias", m.ones(new Shape()));
            SafetensorsWriter.write(tmp.resolve("bare.safetensors"), bare, Map.of("format", "pt"));
            try (Gpt2LMHeadModel model = Gpt2Loader.load(tmp.resolve("bare.safetensors"), TestFixtures.config(dir), Device.cpu())) {
                ModelOutput out = model.forward(new ModelInput(ids(m, expected.get("input_ids")), ids(m, expected.get("attention_mask"))),
                        ForwardContext.inference(m));
                assertThat(maxDiff(out.logits(), expected)).isLessThan(1e-4f);
            }
            // Any other unknown tensor, or a missing one, is an error naming it.
            bare.put("h.0.attn.extra", m.ones(new Shape(2)));
            bare.remove("ln_f.bias");
            SafetensorsWriter.write(tmp.resolve("bad.safetensors"), bare, Map.of("format", "pt"));
            assertThatThrownBy(() -> Gpt2Loader.load(tmp.resolve("bad.safetensors"), TestFixtures.config(dir), Device.cpu()))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("h.0.attn.extra")
                    .hasMessageContaining("transformer.ln_f.bias");
        }
    }

    @SuppressWarnings("unchecked")
    static NDArray ids(NDManager m, Object rows) {
        List<List<Double>> list = (List<List<Double>>) rows;
        long[] flat = list.stream().flatMap(List::stream).mapToLong(Double::longValue).toArray();
        return m.create(flat, new Shape(list.size(), list.get(0).size()));
    }

    @SuppressWarnings("unchecked")
    static float maxDiff(NDArray logits, Map<String, Object> expected) {
        List<Double> values = (List<Double>) expected.get("logits");
        List<List<Double>> mask = (List<List<Double>>) expected.get("attention_mask");
        long b = logits.getShape().get(0);
        long t = logits.getShape().get(1);
        long v = logits.getShape().get(2);
        assertThat((long) values.size()).isEqualTo(b * t * v);
        float[] actual = logits.toFloatArray();
        float max = 0;
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < t; j++) {
                if (mask.get(i).get(j) == 0) {
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
}
