package dev.peft4j.models.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Our writer, read back by our reader, for every dtype; plus the writer's format and atomicity. */
class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void rawTensorsOfEveryDtypeRoundTripExactly() {
        float[] bf16Values = {1f, -2.5f, 3.140625f, Float.POSITIVE_INFINITY, -0f, Float.intBitsToFloat(0x00010000), 65280f};
        ByteBuffer bf16 = le(2 * bf16Values.length);
        for (float v : bf16Values) {
            int bits = Float.floatToRawIntBits(v);
            assertThat(bits & 0xffff).as("test value %s must be exact in bf16", v).isZero();
            bf16.putShort((short) (bits >>> 16));
        }
        ByteBuffer f16 = le(8).putShort((short) 0x3c00).putShort((short) 0xc000).putShort((short) 0x0001).putShort((short) 0x7bff);
        ByteBuffer f64 = le(16).putDouble(Math.PI).putDouble(-1e300);
        ByteBuffer f32 = le(12).putFloat(0.1f).putFloat(-3e38f).putFloat(Float.MIN_VALUE);
        ByteBuffer i64 = le(16).putLong(Long.MIN_VALUE).putLong(Long.MAX_VALUE);
        ByteBuffer i32 = le(8).putInt(-5).putInt(1 << 30);
        ByteBuffer i16 = le(6).putShort((short) -32768).putShort((short) 32767).putShort((short) -2);
        ByteBuffer i8 = le(3).put((byte) -128).put((byte) 127).put((byte) 0);
        ByteBuffer u8 = le(3).put((byte) 0).put((byte) 128).put((byte) 255);
        ByteBuffer bool = le(4).put((byte) 1).put((byte) 0).put((byte) 0).put((byte) 1);
        List<SafetensorsWriter.RawTensor> tensors = List.of(
                raw("bf16", SafetensorsDType.BF16, new long[] {7}, bf16),
                raw("f16", SafetensorsDType.F16, new long[] {2, 2}, f16),
                raw("f64", SafetensorsDType.F64, new long[] {2}, f64),
                raw("f32", SafetensorsDType.F32, new long[] {3, 1}, f32),
                raw("i64", SafetensorsDType.I64, new long[] {2}, i64),
                raw("i32", SafetensorsDType.I32, new long[] {}, le(4).putInt(77)),
                raw("i32b", SafetensorsDType.I32, new long[] {2}, i32),
                raw("i16", SafetensorsDType.I16, new long[] {3}, i16),
                raw("i8", SafetensorsDType.I8, new long[] {3}, i8),
                raw("u8", SafetensorsDType.U8, new long[] {1, 3}, u8),
                raw("bool", SafetensorsDType.BOOL, new long[] {2, 2}, bool),
                raw("empty", SafetensorsDType.F32, new long[] {4, 0}, le(0)));
        Path path = dir.resolve("raw.safetensors");
        SafetensorsWriter.writeRaw(path, tensors, Map.of("note", "hi"));

        try (SafetensorsFile f = SafetensorsFile.open(path); NDManager m = NDManager.newBaseManager()) {
            assertThat(f.metadata()).containsEntry("format", "pt").containsEntry("note", "hi");
            assertThat(f.names()).containsExactly("bf16", "f16", "f64", "f32", "i64", "i32", "i32b", "i16", "i8", "u8", "bool", "empty");
            for (SafetensorsWriter.RawTensor t : tensors) {
                assertThat(f.entry(t.name()).dtype()).isEqualTo(t.dtype());
                assertThat(f.entry(t.name()).shape()).containsExactly(t.shape());
                assertThat(f.rawBytes(t.name())).isEqualTo(t.data().duplicate());
            }
            assertThat(f.readFloats("bf16")).containsExactly(bf16Values);
            try (NDArray a = f.load("bf16", m)) {
                assertThat(a.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(a.toFloatArray()).containsExactly(bf16Values);
            }
            assertThat(f.readFloats("f16")).containsExactly(1f, -2f, 0x1p-24f, 65504f);
            assertThat(f.readFloats("f32")).containsExactly(0.1f, -3e38f, Float.MIN_VALUE);
            try (NDArray a = f.load("f64", m)) {
                assertThat(a.toDoubleArray()).containsExactly(Math.PI, -1e300);
            }
            try (NDArray a = f.load("i64", m)) {
                assertThat(a.toLongArray()).containsExactly(Long.MIN_VALUE, Long.MAX_VALUE);
            }
            try (NDArray a = f.load("i32", m)) {
                assertThat(a.getShape()).isEqualTo(new Shape());
                assertThat(a.getInt()).isEqualTo(77);
            }
            try (NDArray a = f.load("i16", m)) {
                assertThat(a.toIntArray()).containsExactly(-32768, 32767, -2);
            }
            try (NDArray a = f.load("i8", m)) {
                assertThat(a.toByteArray()).containsExactly(-128, 127, 0);
            }
            try (NDArray a = f.load("u8", m)) {
                assertThat(a.toUint8Array()).containsExactly(0, 128, 255);
            }
            try (NDArray a = f.load("bool", m)) {
                assertThat(a.getShape()).isEqualTo(new Shape(2, 2));
                assertThat(a.toBooleanArray()).containsExactly(true, false, false, true);
            }
            try (NDArray a = f.load("empty", m)) {
                assertThat(a.getShape()).isEqualTo(new Shape(4, 0));
            }
        }
    }

    private static SafetensorsWriter.RawTensor raw(String name, SafetensorsDType type, long[] shape, ByteBuffer filled) {
        return new SafetensorsWriter.RawTensor(name, type, shape, filled.flip());
    }

    @Test
    void ndArraysOfEveryWritableTypeRoundTrip() {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> in = new LinkedHashMap<>();
            in.put("f32", m.create(new float[] {1.25f, -0f, 7e-20f, 3f, 4f, 5f}, new Shape(2, 3)));
            in.put("f16", m.create(new float[] {0.5f, 2048f}).toType(DataType.FLOAT16, false));
            in.put("f64", m.create(new double[] {1.0 / 3}));
            in.put("i64", m.create(new long[] {-9, 1L << 50}));
            in.put("i32", m.create(new int[] {3, -4}));
            in.put("i8", m.create(new byte[] {-7, 8}));
            in.put("u8", m.create(new int[] {0, 255}).toType(DataType.UINT8, false));
            in.put("bool", m.create(new boolean[] {false, true, true}));
            in.put("scalar", m.create(2.5f));
            in.put("transposed", m.create(new float[] {1, 2, 3, 4, 5, 6}, new Shape(2, 3)).transpose()); // non-contiguous view
            Path path = dir.resolve("nd.safetensors");
            SafetensorsWriter.write(path, in, null);
            try (SafetensorsFile f = SafetensorsFile.open(path)) {
                assertThat(f.metadata()).containsExactlyEntriesOf(Map.of("format", "pt"));
                assertThat(f.names()).containsExactlyElementsOf(in.keySet());
                Map<String, NDArray> out = f.loadAll(m);
                for (String name : in.keySet()) {
                    NDArray a = in.get(name);
                    NDArray b = out.get(name);
                    assertThat(b.getDataType()).as(name).isEqualTo(a.getDataType());
                    assertThat(b.getShape()).as(name).isEqualTo(a.getShape());
                    assertThat(b.toByteBuffer()).as(name).isEqualTo(a.toByteBuffer());
                }
                assertThat(out.get("f32").toFloatArray()).containsExactly(1.25f, -0f, 7e-20f, 3f, 4f, 5f);
                assertThat(out.get("u8").toUint8Array()).containsExactly(0, 255);
                assertThat(out.get("transposed").getShape()).isEqualTo(new Shape(3, 2));
                assertThat(out.get("transposed").toFloatArray()).containsExactly(1, 4, 2, 5, 3, 6);
            }
        }
    }

    @Test
    void headerIsPaddedTo8BytesWithSpacesAndAlwaysHasMetadata() throws IOException {
        for (int nameLength = 1; nameLength <= 9; nameLength++) {
            Path path = dir.resolve("pad" + nameLength + ".safetensors");
            SafetensorsWriter.writeRaw(path, List.of(new SafetensorsWriter.RawTensor("x".repeat(nameLength), SafetensorsDType.U8,
                    new long[] {1}, ByteBuffer.wrap(new byte[] {9}))), null);
            byte[] bytes = Files.readAllBytes(path);
            long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertThat(n % 8).isZero();
            assertThat(bytes.length).isEqualTo(8 + n + 1);
            String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            JsonObject json = JsonParser.parseString(header).getAsJsonObject();
            assertThat(json.getAsJsonObject("__metadata__").get("format").getAsString()).isEqualTo("pt");
            assertThat(header.stripTrailing()).endsWith("}");
            assertThat(header.substring(header.stripTrailing().length())).matches(" {0,7}");
        }
    }

    @Test
    void failedWriteLeavesThePreviousFileAndNoTempFile() throws IOException {
        Path path = dir.resolve("keep.safetensors");
        List<SafetensorsWriter.RawTensor> one = List.of(new SafetensorsWriter.RawTensor("a", SafetensorsDType.U8, new long[] {2},
                ByteBuffer.wrap(new byte[] {1, 2})));
        SafetensorsWriter.writeRaw(path, one, null);
        byte[] before = Files.readAllBytes(path);

        // Validation failures happen before any byte is written.
        List<SafetensorsWriter.RawTensor> wrongSize = List.of(new SafetensorsWriter.RawTensor("b", SafetensorsDType.F32,
                new long[] {2}, ByteBuffer.allocate(7)));
        assertThatThrownBy(() -> SafetensorsWriter.writeRaw(path, wrongSize, null))
                .isInstanceOf(SafetensorsException.class).hasMessageContaining(path.toString()).hasMessageContaining("'b'")
                .hasMessageContaining("needs 8 bytes but the buffer has 7");
        List<SafetensorsWriter.RawTensor> duplicate = new ArrayList<>(one);
        duplicate.addAll(one);
        assertThatThrownBy(() -> SafetensorsWriter.writeRaw(path, duplicate, null))
                .isInstanceOf(SafetensorsException.class).hasMessageContaining("duplicate tensor name");
        assertThat(Files.readAllBytes(path)).isEqualTo(before);

        // An I/O failure at the rename (the target is a non-empty directory) removes the temp file.
        Path blocked = dir.resolve("blocked.safetensors");
        Files.createDirectories(blocked.resolve("inside"));
        assertThatThrownBy(() -> SafetensorsWriter.writeRaw(blocked, one, null))
                .isInstanceOf(SafetensorsException.class).hasMessageContaining(blocked.toString())
                .hasMessageContaining("cannot write");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".tmp-"));
        }
        // A directory that does not exist is reported with the file name.
        Path nowhere = dir.resolve("no/such/dir/x.safetensors");
        assertThatThrownBy(() -> SafetensorsWriter.writeRaw(nowhere, one, null))
                .isInstanceOf(SafetensorsException.class).hasMessageContaining(nowhere.toString());

        // Overwriting an existing file replaces it whole.
        SafetensorsWriter.writeRaw(path, List.of(new SafetensorsWriter.RawTensor("c", SafetensorsDType.U8, new long[] {0},
                ByteBuffer.allocate(0))), null);
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            assertThat(f.names()).containsExactly("c");
        }
    }

    @Test
    void boolBytesOtherThanZeroOrOneLoadAsTrue() {
        Path path = dir.resolve("bool.safetensors");
        SafetensorsWriter.writeRaw(path, List.of(raw("b", SafetensorsDType.BOOL, new long[] {4},
                le(4).put((byte) 0).put((byte) 7).put((byte) -1).put((byte) 1))), null);
        try (SafetensorsFile f = SafetensorsFile.open(path); NDManager m = NDManager.newBaseManager(); NDArray a = f.load("b", m)) {
            assertThat(a.toBooleanArray()).containsExactly(false, true, true, true);
            assertThat(a.toByteBuffer().array()).containsExactly(0, 1, 1, 1); // normalised: torch bools are 0 or 1
        }
    }

    /**
     * Opt-in ({@code -Dpeft4j.safetensors.pythonCheckDir=DIR}): writes {@code DIR/java_written.safetensors}
     * for {@code tools/safetensors/check_java_written.py}, which proves HF's library reads our files.
     */
    @Test
    void writesTheFileThatThePythonCheckReads() {
        String out = System.getProperty("peft4j.safetensors.pythonCheckDir", "");
        Assumptions.assumeTrue(!out.isBlank(), "set -Dpeft4j.safetensors.pythonCheckDir=DIR to write the file for the Python check");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> nd = new LinkedHashMap<>();
            nd.put("f32", m.create(new float[] {1.5f, -2.25f, 0.1f, 1e30f, -7f, 0f}, new Shape(2, 3)));
            nd.put("f16", m.create(new float[] {1f, -2f, 0x1p-24f, 65504f}).toType(DataType.FLOAT16, false));
            nd.put("f64", m.create(new double[] {Math.PI, -1e300}));
            nd.put("i64", m.create(new long[] {Long.MIN_VALUE, Long.MAX_VALUE, 0}));
            nd.put("i32", m.create(new int[] {7, -8, Integer.MAX_VALUE, Integer.MIN_VALUE}, new Shape(2, 2)));
            nd.put("i8", m.create(new byte[] {-128, -1, 0, 127}));
            nd.put("u8", m.create(new int[] {0, 1, 200, 255}).toType(DataType.UINT8, false));
            nd.put("bool", m.create(new boolean[] {true, false, true}));
            nd.put("scalar", m.create(42f));
            nd.put("empty", m.zeros(new Shape(0, 3)));
            Path dirPath = Path.of(out);
            SafetensorsWriter.write(dirPath.resolve("java_written.safetensors"), nd, Map.of("writer", "peft4j"));
            // BF16 and I16 only exist as raw bytes on the Java side.
            ByteBuffer bf16 = le(6);
            for (float v : new float[] {1f, -2.5f, 3.140625f}) {
                bf16.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
            }
            SafetensorsWriter.writeRaw(dirPath.resolve("java_written_raw.safetensors"), List.of(
                    raw("bf16", SafetensorsDType.BF16, new long[] {3}, bf16),
                    raw("i16", SafetensorsDType.I16, new long[] {3}, le(6).putShort((short) -32768).putShort((short) 32767)
                            .putShort((short) 5))), Map.of("writer", "peft4j"));
        }
    }
}
