package dev.peft4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.training.GradientCollector;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.tokenizer.Batch;
import dev.peft4j.models.tokenizer.Batcher;
import dev.peft4j.models.tokenizer.HfTextTokenizer;
import dev.peft4j.models.tokenizer.SentenceEmbeddings;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading HF directories. The golden outputs were computed by HF transformers 4.46.3 on the same
 * files (tools/bert/make_tiny_bert.py).
 */
class ModelsTest {
    static final Path TINY = Path.of("src/test/resources/tiny-bert");
    static JsonObject expected;

    @BeforeAll
    static void readExpected() throws IOException {
        expected = JsonParser.parseString(Files.readString(TINY.resolve("expected.json"), StandardCharsets.UTF_8)).getAsJsonObject();
    }

    @Test
    void tinyBertMatchesHfTransformers() {
        try (TransformerModel model = Models.load(TINY.resolve("model"), Device.cpu()); NDManager step = model.manager().newSubManager()) {
            assertThat(model).isInstanceOf(BertModel.class);
            assertThat(((BertModel) model).hasPooler()).isTrue();
            ModelOutput out = model.forward(input(step), ForwardContext.inference(step));
            assertThat(out.lastHiddenState().getShape()).isEqualTo(new Shape(3, 8, 32));
            float hiddenDiff = maxAbsDiff(out.lastHiddenState(), floats(expected.get("last_hidden_state"), step));
            float pooledDiff = maxAbsDiff(out.pooled(), floats(expected.get("pooler_output"), step));
            System.out.printf("tiny BERT vs HF transformers: last_hidden_state max |diff| %.3g, pooler_output %.3g%n",
                    hiddenDiff, pooledDiff);
            assertThat(hiddenDiff).isLessThanOrEqualTo(1e-5f);
            assertThat(pooledDiff).isLessThanOrEqualTo(1e-5f);
        }
    }

    /**
     * Backward pass against HF: gradients of a fixed functional of both outputs, with a forced GC
     * and direct-buffer churn between forward and backward (DJL_NOTES bug 1: a freed scalar operand
     * would corrupt the attention-scale and mask gradients).
     */
    @Test
    void tinyBertGradientsMatchHfTransformers() {
        try (TransformerModel model = Models.load(TINY.resolve("model"), Device.cpu()); NDManager step = model.manager().newSubManager()) {
            ModelInput in = input(step);
            float loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                ModelOutput out = model.forward(in, ForwardContext.inference(step)); // inference: dropout off
                Shape hs = out.lastHiddenState().getShape();
                float[] r = new float[(int) hs.size()];
                for (int b = 0, i = 0; b < hs.get(0); b++) {
                    for (int s = 0; s < hs.get(1); s++) {
                        for (int h = 0; h < hs.get(2); h++) {
                            r[i++] = ((b * 31 + s * 7 + h) % 13 - 6) / 6f;
                        }
                    }
                }
                float[] p = new float[(int) (hs.get(0) * hs.get(2))];
                for (int b = 0, i = 0; b < hs.get(0); b++) {
                    for (int h = 0; h < hs.get(2); h++) {
                        p[i++] = ((b * 5 + h) % 7 - 3) / 3f;
                    }
                }
                NDArray total = out.lastHiddenState().mul(step.create(r, hs)).sum()
                        .add(out.pooled().mul(step.create(p, out.pooled().getShape())).sum());
                churnAndCollect(step);
                collector.backward(total);
                loss = total.getFloat();
            }
            assertThat(loss).isCloseTo(expected.get("loss").getAsFloat(), Offset.offset(1e-3f));
            for (Map.Entry<String, JsonElement> e : expected.getAsJsonObject("gradients").entrySet()) {
                NDArray reference = floats(e.getValue(), step);
                try (NDArray grad = model.module().namedParameters().get(e.getKey()).value().getGradient()) {
                    float scale = Math.max(1f, reference.abs().max().getFloat());
                    float diff = maxAbsDiff(grad, reference);
                    System.out.printf("gradient %s: max |diff| %.3g (max |grad| %.3g)%n", e.getKey(), diff, scale);
                    assertThat(diff / scale).as(e.getKey()).isLessThanOrEqualTo(1e-4f);
                }
            }
        }
    }

    private static void churnAndCollect(NDManager m) {
        for (int i = 0; i < 200; i++) {
            float[] junk = new float[256];
            java.util.Arrays.fill(junk, 12345f);
            try (NDArray a = m.create(junk); NDArray b = m.create(12345f)) {
                a.getShape();
                b.getShape();
            }
        }
        System.gc();
    }

    @Test
    void maskedLmCheckpointLoadsBackboneWithoutPoolerAndSkipsHeads() {
        try (TransformerModel model = Models.load(TINY.resolve("mlm"), "cpu"); NDManager step = model.manager().newSubManager()) {
            assertThat(((BertModel) model).hasPooler()).isFalse();
            assertThat(model.module().namedParameters().keySet()).noneMatch(n -> n.startsWith("bert.") || n.startsWith("cls."));
            ModelOutput out = model.forward(input(step), ForwardContext.inference(step));
            assertThat(out.pooled()).isNull();
            assertThat(maxAbsDiff(out.lastHiddenState(), floats(expected.get("mlm_last_hidden_state"), step))).isLessThanOrEqualTo(1e-5f);
        }
    }

    @Test
    void saveAndReloadGivesIdenticalOutputsAndCopiesTokenizer(@TempDir Path dir) {
        try (TransformerModel model = Models.load(TINY.resolve("model"), Device.cpu())) {
            Models.save(model, dir);
        }
        assertThat(dir.resolve("tokenizer.json")).exists();
        assertThat(dir.resolve("config.json")).content().contains("\"hidden_size\": 32").doesNotContain("32.0");
        try (TransformerModel reloaded = Models.load(dir, Device.cpu()); NDManager step = reloaded.manager().newSubManager()) {
            ModelOutput out = reloaded.forward(input(step), ForwardContext.inference(step));
            assertThat(maxAbsDiff(out.lastHiddenState(), floats(expected.get("last_hidden_state"), step))).isLessThanOrEqualTo(1e-5f);
            // (60 + 24 + 2) * 32 + 64 embeddings, 2 layers of 7,504, pooler 1,056
            assertThat(reloaded.module().parameterCount()).isEqualTo(18_880);
        }
    }

    @Test
    void tokenizerFromTheDirectoryFeedsTheModelAndSentenceVectorsAreUnitLength() {
        HfModelDirectory directory = HfModelDirectory.open(TINY.resolve("model"));
        try (TransformerModel model = Models.load(directory.path(), Device.cpu());
                HfTextTokenizer tokenizer = directory.tokenizer();
                NDManager step = model.manager().newSubManager()) {
            Batch batch = new Batcher(tokenizer.padTokenId()).pad(List.of(tokenizer.encode("The cat sat on the mat.", 16),
                    tokenizer.encodePair("hello world", "how are you today?", 16)), step);
            ModelOutput out = model.forward(batch.toModelInput(), ForwardContext.inference(step));
            NDArray vectors = SentenceEmbeddings.meanPooledNormalized(out, batch.attentionMask());
            assertThat(vectors.getShape()).isEqualTo(new Shape(2, 32));
            assertThat(vectors.norm(new int[] {1}).toFloatArray()).containsExactly(new float[] {1f, 1f}, Offset.offset(1e-5f));
        }
    }

    @Test
    void missingDirectoryAndFilesNameWhatAndWhere(@TempDir Path dir) throws IOException {
        Path absent = dir.resolve("nope");
        assertThatThrownBy(() -> Models.load(absent, Device.cpu())).isInstanceOf(Peft4jException.class)
                .hasMessageContaining(absent.toString()).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> Models.load(dir, Device.cpu())).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("config.json").hasMessageContaining(dir.toString());
        Files.copy(TINY.resolve("model/config.json"), dir.resolve("config.json"));
        Files.writeString(dir.resolve("pytorch_model.bin"), "pickle");
        assertThatThrownBy(() -> Models.load(dir, Device.cpu())).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("model.safetensors").hasMessageContaining(dir.toString())
                .hasMessageContaining("pickle");
    }

    @Test
    void unknownModelTypeListsSupported(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"t5\", \"d_model\": 8}");
        assertThatThrownBy(() -> Models.load(dir, Device.cpu())).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("\"t5\"").hasMessageContaining("[bert").hasMessageContaining(dir.resolve("config.json").toString());
        Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 8}");
        assertThatThrownBy(() -> Models.load(dir, Device.cpu())).hasMessageContaining("model_type");
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": ");
        assertThatThrownBy(() -> Models.load(dir, Device.cpu())).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("not a valid JSON");
    }

    @Test
    void configWithMissingFieldNamesFieldAndFile(@TempDir Path dir) throws IOException {
        String config = Files.readString(TINY.resolve("model/config.json")).replace("\"intermediate_size\": 48,", "");
        Files.writeString(dir.resolve("config.json"), config);
        Files.copy(TINY.resolve("model/model.safetensors"), dir.resolve("model.safetensors"));
        assertThatThrownBy(() -> Models.load(dir, Device.cpu())).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("intermediate_size").hasMessageContaining(dir.resolve("config.json").toString());
    }

    @Test
    void unexpectedMissingAndMisshapedTensorsAreAllListed(@TempDir Path dir) throws IOException {
        Files.copy(TINY.resolve("model/config.json"), dir.resolve("config.json"), StandardCopyOption.REPLACE_EXISTING);
        Engines.pytorch();
        try (NDManager m = NDManager.newBaseManager();
                SafetensorsFile original = SafetensorsFile.open(TINY.resolve("model/model.safetensors"))) {
            Map<String, NDArray> tensors = new LinkedHashMap<>(original.loadAll(m));
            tensors.remove("encoder.layer.1.output.dense.bias");
            tensors.put("encoder.layer.0.intermediate.dense.weight", m.zeros(new Shape(40, 32), DataType.FLOAT32));
            tensors.put("encoder.layer.0.attention.self.rotary.weight", m.zeros(new Shape(4), DataType.FLOAT32));
            SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        assertThatThrownBy(() -> Models.load(dir, Device.cpu())).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("encoder.layer.1.output.dense.bias")
                .hasMessageContaining("encoder.layer.0.intermediate.dense.weight").hasMessageContaining("(40, 32)")
                .hasMessageContaining("(48, 32)")
                .hasMessageContaining("encoder.layer.0.attention.self.rotary.weight");
    }

    @Test
    void devicesParse() {
        assertThat(Engines.device("cpu")).isEqualTo(Device.cpu());
        assertThat(Engines.device(" CPU ")).isEqualTo(Device.cpu());
        assertThat(Engines.device("auto")).isEqualTo(Engines.pytorch().getGpuCount() > 0 ? Device.gpu(0) : Device.cpu());
        assertThatThrownBy(() -> Engines.device("tpu")).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("\"tpu\"").hasMessageContaining("auto, cpu, gpu or gpu:N");
        assertThatThrownBy(() -> Engines.device("gpu:x")).isInstanceOf(Peft4jException.class).hasMessageContaining("gpu:N");
        if (Engines.pytorch().getGpuCount() == 0) {
            assertThatThrownBy(() -> Engines.device("gpu:0")).isInstanceOf(Peft4jException.class).hasMessageContaining("0 GPU");
        } else {
            assertThat(Engines.device("gpu:0")).isEqualTo(Device.gpu(0));
        }
    }

    static ModelInput input(NDManager m) {
        return new ModelInput(longs(expected.get("input_ids"), m), longs(expected.get("attention_mask"), m),
                longs(expected.get("token_type_ids"), m), null);
    }

    static NDArray longs(JsonElement json, NDManager m) {
        JsonArray rows = json.getAsJsonArray();
        long[][] out = new long[rows.size()][];
        for (int r = 0; r < rows.size(); r++) {
            JsonArray row = rows.get(r).getAsJsonArray();
            out[r] = new long[row.size()];
            for (int i = 0; i < row.size(); i++) {
                out[r][i] = row.get(i).getAsLong();
            }
        }
        return m.create(out);
    }

    /** A nested JSON array of numbers as a float32 tensor of the same shape. */
    static NDArray floats(JsonElement json, NDManager m) {
        List<Long> dims = new ArrayList<>();
        JsonElement e = json;
        while (e.isJsonArray()) {
            dims.add((long) e.getAsJsonArray().size());
            e = e.getAsJsonArray().get(0);
        }
        List<Float> values = new ArrayList<>();
        flatten(json, values);
        float[] data = new float[values.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = values.get(i);
        }
        return m.create(data, new Shape(dims.stream().mapToLong(Long::longValue).toArray()));
    }

    private static void flatten(JsonElement e, List<Float> out) {
        if (e.isJsonArray()) {
            e.getAsJsonArray().forEach(x -> flatten(x, out));
        } else {
            out.add(e.getAsFloat());
        }
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }
}
