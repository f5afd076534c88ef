package dev.peft4j.models.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.models.onnx.OnnxBertImporter.ImportedBert;
import dev.peft4j.models.onnx.OnnxBertImporter.ImportedTensor;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OnnxBertImporterTest {
    static JsonObject expected() throws IOException {
        try (InputStream in = OnnxBertImporterTest.class.getResourceAsStream("/tiny-bert-onnx/expected.json")) {
            return JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8)).getAsJsonObject();
        }
    }

    static ImportedBert importTiny(byte[] bytes) {
        return OnnxBertImporter.importModel(OnnxModel.read(ByteBuffer.wrap(bytes), "tiny-bert.onnx", null));
    }

    @Test
    void importReproducesTheHfStateDictAndConfig() throws IOException {
        JsonObject expected = expected();
        ImportedBert imported = importTiny(OnnxModelTest.tinyOnnx());

        JsonObject config = expected.getAsJsonObject("config");
        for (String key : List.of("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
                "max_position_embeddings", "type_vocab_size")) {
            assertThat(imported.config().get(key)).as(key).isEqualTo(config.get(key).getAsInt());
        }
        // 4 heads x 8 and eps 1e-7 are not the real models' values: they come from the graph
        assertThat(imported.config().get("num_attention_heads")).isEqualTo(4);
        assertThat(imported.config().get("layer_norm_eps")).isEqualTo(1e-7);
        assertThat(imported.config().get("hidden_act")).isEqualTo("gelu");
        assertThat(imported.config().get("model_type")).isEqualTo("bert");

        JsonObject tensors = expected.getAsJsonObject("tensors");
        // same names in the same (state-dict) order
        assertThat(new ArrayList<>(imported.tensors().keySet())).containsExactlyElementsOf(tensors.keySet());
        for (Map.Entry<String, JsonElement> e : tensors.entrySet()) {
            JsonObject want = e.getValue().getAsJsonObject();
            ImportedTensor got = imported.tensors().get(e.getKey());
            long[] shape = new long[want.getAsJsonArray("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = want.getAsJsonArray("shape").get(i).getAsLong();
            }
            assertThat(got.shape()).as(e.getKey()).containsExactly(shape);
            // the first values catch a missing or wrong transpose (the sum does not)
            for (int i = 0; i < 4; i++) {
                assertThat(got.data()[i]).as(e.getKey() + "[" + i + "]")
                        .isCloseTo(want.getAsJsonArray("first").get(i).getAsFloat(), within(1e-7f));
            }
            double sum = 0;
            for (float v : got.data()) {
                sum += v;
            }
            assertThat(sum).as(e.getKey() + " sum").isCloseTo(want.get("sum").getAsDouble(), within(1e-4));
        }
        assertThat(imported.parameterCount()).isEqualTo(expected.get("parameters").getAsLong()).isEqualTo(20256);
    }

    @Test
    void unmappedWeightIsAnErrorListingIt() throws IOException {
        // a second ModelProto.graph field merges into the first: this appends one initializer
        byte[] extra = new ProtoBytes().message(7, new ProtoBytes().message(5,
                ProtoBytes.floatTensor("mystery.kernel", new long[] {2, 2}, 1, 2, 3, 4))).toByteArray();
        assertThatThrownBy(() -> importTiny(concat(OnnxModelTest.tinyOnnx(), extra)))
                .isInstanceOf(OnnxFormatException.class)
                .hasMessageContaining("tiny-bert.onnx")
                .hasMessageContaining("unmapped weight")
                .hasMessageContaining("mystery.kernel[2, 2]");
    }

    @Test
    void unnameableMatMulWeightIsAnError() throws IOException {
        // an extra MatMul whose weight feeds no known bias and whose node name is no HF module path
        ProtoBytes node = new ProtoBytes().string(1, "/embeddings/LayerNorm/Add_1_output_0").string(1, "onnx::MatMul_999")
                .string(2, "extra_output").string(3, "/mystery/MatMul").string(4, "MatMul");
        byte[] extra = new ProtoBytes().message(7, new ProtoBytes().message(1, node)
                .message(5, ProtoBytes.floatTensor("onnx::MatMul_999", new long[] {32, 2}, new float[64]))).toByteArray();
        assertThatThrownBy(() -> importTiny(concat(OnnxModelTest.tinyOnnx(), extra)))
                .isInstanceOf(OnnxFormatException.class)
                .hasMessageContaining("MatMul weight 'onnx::MatMul_999' (node '/mystery/MatMul') cannot be named");
    }

    @Test
    void scalarConstantsAreNotWeights() throws IOException {
        byte[] extra = new ProtoBytes().message(7, new ProtoBytes().message(5,
                ProtoBytes.floatTensor("some_scale", new long[] {}, 0.5f))).toByteArray();
        ImportedBert imported = importTiny(concat(OnnxModelTest.tinyOnnx(), extra));
        assertThat(imported.constants()).contains("some_scale");
        assertThat(imported.tensors()).hasSize(37);
    }

    @Test
    void renamedBiasIsAnUnmappedWeight() throws IOException {
        // the last occurrence of the name is the initializer's own (initializers follow the nodes)
        byte[] bytes = OnnxModelTest.tinyOnnx();
        byte[] needle = "encoder.layer.1.output.LayerNorm.bias".getBytes(StandardCharsets.US_ASCII);
        int at = lastIndexOf(bytes, needle);
        assertThat(at).isPositive();
        bytes[at] = 'X';
        assertThatThrownBy(() -> importTiny(bytes)).isInstanceOf(OnnxFormatException.class)
                .hasMessageContaining("unmapped weight").hasMessageContaining("Xncoder.layer.1.output.LayerNorm.bias[32]");
    }

    @Test
    void graphAndNodeNameMustAgreeOnALinearWeight() throws IOException {
        // rename the node (NodeProto.name: tag 0x1a, length) of layer 0's query MatMul to the value's scope
        byte[] bytes = OnnxModelTest.tinyOnnx();
        String name = "/encoder/layer.0/attention/self/query/MatMul";
        byte[] field = concat(new byte[] {0x1a, (byte) name.length()}, name.getBytes(StandardCharsets.US_ASCII));
        int at = lastIndexOf(bytes, field);
        assertThat(at).isPositive();
        byte[] renamed = "value".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(renamed, 0, bytes, at + 2 + name.indexOf("query"), renamed.length);
        assertThatThrownBy(() -> importTiny(bytes)).isInstanceOf(OnnxFormatException.class)
                .hasMessageContaining("names it encoder.layer.0.attention.self.query.weight")
                .hasMessageContaining("names it encoder.layer.0.attention.self.value.weight");
    }

    /** torch.onnx writes HF's pooler as Gemm(transB=1) over the named [out, in] pooler.dense.weight. */
    @Test
    void poolerExportKeepsTheNamedGemmWeight() throws IOException {
        byte[] bytes;
        JsonObject expected;
        try (InputStream in = OnnxBertImporterTest.class.getResourceAsStream("/tiny-bert-onnx/tiny-bert-pooler.onnx");
                InputStream json = OnnxBertImporterTest.class.getResourceAsStream("/tiny-bert-onnx/expected-pooler.json")) {
            bytes = in.readAllBytes();
            expected = JsonParser.parseReader(new InputStreamReader(json, StandardCharsets.UTF_8)).getAsJsonObject();
        }
        ImportedBert imported = importTiny(bytes);
        ImportedTensor pooler = imported.tensors().get("pooler.dense.weight");
        assertThat(pooler.shape()).containsExactly(32, 32);
        JsonObject want = expected.getAsJsonObject("pooler.dense.weight");
        for (int i = 0; i < 4; i++) {
            assertThat(pooler.data()[i]).isCloseTo(want.getAsJsonArray("first").get(i).getAsFloat(), within(1e-7f));
        }
        assertThat(imported.tensors()).containsKey("pooler.dense.bias");
        assertThat(imported.parameterCount()).isEqualTo(expected.get("parameters").getAsLong()).isEqualTo(13808);
        assertThat(imported.config().get("layer_norm_eps")).isEqualTo(1e-12);
    }

    @Test
    void transposeIsRowMajor() {
        float[] t = OnnxBertImporter.transpose(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertThat(t).containsExactly(1, 4, 2, 5, 3, 6);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static int lastIndexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = haystack.length - needle.length; i >= 0; i--) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
