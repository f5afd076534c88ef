package dev.peft4j.models.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelTest {
    static byte[] tinyOnnx() throws IOException {
        try (InputStream in = OnnxModelTest.class.getResourceAsStream("/tiny-bert-onnx/tiny-bert.onnx")) {
            return in.readAllBytes();
        }
    }

    @Test
    void readsGraphOfTinyExport() throws IOException {
        OnnxModel model = OnnxModel.read(ByteBuffer.wrap(tinyOnnx()), "tiny-bert.onnx", null);
        assertThat(model.irVersion()).isEqualTo(6);
        assertThat(model.opsets()).containsEntry("", 11L);
        assertThat(model.inputs()).containsExactly("input_ids", "attention_mask", "token_type_ids");
        assertThat(model.outputs()).containsExactly("last_hidden_state");
        // counts as onnx.load reports them for this file
        assertThat(model.initializers()).hasSize(37);
        assertThat(model.nodes()).hasSize(234);
        assertThat(model.nodes().stream().filter(n -> n.opType().equals("MatMul")).count()).isEqualTo(16);
        OnnxNode query = model.nodes().stream().filter(n -> n.name().equals("/encoder/layer.0/attention/self/query/MatMul"))
                .findFirst().orElseThrow();
        assertThat(query.inputs()).containsExactly("/embeddings/LayerNorm/Add_1_output_0", "onnx::MatMul_294");
        OnnxTensor weight = model.initializers().get("onnx::MatMul_294");
        assertThat(weight.dims()).containsExactly(32, 32);
        assertThat(weight.toFloatArray()).hasSize(1024);
        OnnxNode softmax = model.nodes().stream().filter(n -> n.opType().equals("Softmax")).findFirst().orElseThrow();
        assertThat(softmax.attribute("axis").intValue()).isEqualTo(3);
    }

    @Test
    void missingFileIsNamed(@TempDir Path dir) {
        Path file = dir.resolve("absent.onnx");
        assertThatThrownBy(() -> OnnxModel.read(file)).isInstanceOf(OnnxFormatException.class).hasMessageContaining(file.toString());
    }

    @Test
    void notAModelIsNamed(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("text.onnx");
        Files.writeString(file, "this is not protobuf at all, just text");
        assertThatThrownBy(() -> OnnxModel.read(file)).isInstanceOf(OnnxFormatException.class).hasMessageContaining(file.toString());
        Path empty = dir.resolve("empty.onnx");
        Files.write(empty, new byte[0]);
        assertThatThrownBy(() -> OnnxModel.read(empty)).isInstanceOf(OnnxFormatException.class)
                .hasMessageContaining(empty.toString()).hasMessageContaining("no graph");
    }

    @Test
    void tensorWhoseDataDoesNotMatchItsShapeIsRejected() {
        ProtoBytes tensor = ProtoBytes.floatTensor("w", new long[] {3, 3}, 1f, 2f);
        byte[] model = new ProtoBytes().message(7, new ProtoBytes().message(5, tensor)).toByteArray();
        OnnxModel m = OnnxModel.read(ByteBuffer.wrap(model), "bad.onnx", null);
        assertThatThrownBy(() -> m.initializers().get("w").toFloatArray()).isInstanceOf(OnnxFormatException.class)
                .hasMessageContaining("bad.onnx").hasMessageContaining("'w'").hasMessageContaining("[3, 3]");
    }

    @Test
    void externalDataCannotEscapeTheModelDirectory(@TempDir Path dir) {
        ProtoBytes tensor = new ProtoBytes().varint(1, 2).varint(2, OnnxTensor.FLOAT).string(8, "w")
                .message(13, new ProtoBytes().string(1, "location").string(2, "../secret.bin"));
        byte[] model = new ProtoBytes().message(7, new ProtoBytes().message(5, tensor)).toByteArray();
        OnnxModel m = OnnxModel.read(ByteBuffer.wrap(model), "ext.onnx", dir);
        assertThatThrownBy(() -> m.initializers().get("w").toFloatArray()).isInstanceOf(OnnxFormatException.class)
                .hasMessageContaining("escapes");
    }

    @Test
    void halfPrecisionConversion() {
        assertThat(OnnxTensor.halfToFloat((short) 0x3C00, false)).isEqualTo(1f);
        assertThat(OnnxTensor.halfToFloat((short) 0xC000, false)).isEqualTo(-2f);
        assertThat(OnnxTensor.halfToFloat((short) 0x0001, false)).isEqualTo(0x1p-24f);
        assertThat(OnnxTensor.halfToFloat((short) 0x7C00, false)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(OnnxTensor.halfToFloat((short) 0x3F80, true)).isEqualTo(1f);
    }

    /** Thousands of random corruptions: each read or import either succeeds or throws OnnxFormatException. */
    @Test
    void randomCorruptionsOnlyEverRaiseFormatErrors() throws IOException {
        byte[] original = tinyOnnx();
        Random random = new Random(42);
        int failures = 0;
        for (int trial = 0; trial < 2000; trial++) {
            byte[] bytes = original.clone();
            int kind = trial % 4;
            if (kind == 0) {
                for (int i = 0; i < 1 + random.nextInt(8); i++) {
                    bytes[random.nextInt(bytes.length)] ^= (byte) (1 << random.nextInt(8));
                }
            } else if (kind == 1) {
                bytes = java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length));
            } else if (kind == 2) {
                int at = random.nextInt(bytes.length);
                for (int i = 0; i < 16 && at + i < bytes.length; i++) {
                    bytes[at + i] = (byte) random.nextInt(256);
                }
            } else {
                // overwrite a byte in the first 4 KB, where the graph's structure (and its lengths) sit
                bytes[random.nextInt(Math.min(4096, bytes.length))] = (byte) random.nextInt(256);
            }
            try {
                OnnxBertImporter.importModel(OnnxModel.read(ByteBuffer.wrap(bytes), "fuzz.onnx", null));
            } catch (OnnxFormatException e) {
                assertThat(e.getMessage()).startsWith("fuzz.onnx");
                // every corruption is caught by an explicit check, not by the last-resort wrapper
                assertThat(e.getCause()).as(e.getMessage()).isNull();
                failures++;
            }
        }
        assertThat(failures).isGreaterThan(700);
    }
}
