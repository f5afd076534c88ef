package dev.peft4j.models.safetensors;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads a file written by HuggingFace's Python library (tools/safetensors/make_golden.py). */
class SafetensorsGoldenTest {
    @TempDir
    Path dir;

    @Test
    void readsEveryDtypeWrittenByHuggingFaceExactly() {
        Path path = SafetensorsTestFiles.write(dir, "golden.safetensors", SafetensorsTestFiles.goldenBytes());
        try (SafetensorsFile f = SafetensorsFile.open(path); NDManager m = NDManager.newBaseManager()) {
            assertThat(f.metadata()).containsExactlyInAnyOrderEntriesOf(Map.of("format", "pt", "source", "make_golden.py"));
            assertThat(f.names()).containsExactlyInAnyOrder("f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "bool",
                    "scalar", "empty");
            // names() is in data-offset order
            long previous = -1;
            for (String n : f.names()) {
                assertThat(f.entry(n).begin()).isGreaterThanOrEqualTo(previous);
                previous = f.entry(n).begin();
            }

            assertThat(f.entry("f32").dtype()).isEqualTo(SafetensorsDType.F32);
            assertThat(f.entry("f32").shape()).containsExactly(2, 3);
            assertThat(f.readFloats("f32")).containsExactly(1.5f, -2.25f, 0f, 3.0e-3f, 1.0e30f, -7f);
            try (NDArray a = f.load("f32", m)) {
                assertThat(a.getShape()).isEqualTo(new Shape(2, 3));
                assertThat(a.toFloatArray()).containsExactly(1.5f, -2.25f, 0f, 3.0e-3f, 1.0e30f, -7f);
            }

            assertThat(f.readFloats("f16")).containsExactly(0.5f, -1f, 65504f, 6.103515625e-05f);
            try (NDArray a = f.load("f16", m); NDArray asF32 = a.toType(DataType.FLOAT32, false)) {
                assertThat(a.getDataType()).isEqualTo(DataType.FLOAT16);
                assertThat(asF32.toFloatArray()).containsExactly(0.5f, -1f, 65504f, 6.103515625e-05f);
            }

            float[] bf16 = {1f, -2.5f, 3.140625f, 0.00099945068359375f};
            assertThat(f.readFloats("bf16")).containsExactly(bf16);
            try (NDArray a = f.load("bf16", m)) {
                assertThat(a.getDataType()).isEqualTo(DataType.FLOAT32);
                assertThat(a.getShape()).isEqualTo(new Shape(2, 2));
                assertThat(a.toFloatArray()).containsExactly(bf16);
            }

            try (NDArray a = f.load("f64", m)) {
                assertThat(a.getDataType()).isEqualTo(DataType.FLOAT64);
                assertThat(a.toDoubleArray()).containsExactly(0.1, -2.5);
            }
            assertThat(f.readFloats("f64")).containsExactly(0.1f, -2.5f);
            try (NDArray a = f.load("i64", m)) {
                assertThat(a.getDataType()).isEqualTo(DataType.INT64);
                assertThat(a.toLongArray()).containsExactly(0L, -1L, 1L << 40, -(1L << 62));
            }
            try (NDArray a = f.load("i32", m)) {
                assertThat(a.getDataType()).isEqualTo(DataType.INT32);
                assertThat(a.toIntArray()).containsExactly(7, -8, Integer.MAX_VALUE, Integer.MIN_VALUE);
            }
            try (NDArray a = f.load("i16", m)) {
                assertThat(a.getDataType()).isEqualTo(DataType.INT32);
                assertThat(a.toIntArray()).containsExactly(-32768, 32767, 5);
            }
            try (NDArray a = f.load("i8", m)) {
                assertThat(a.getDataType()).isEqualTo(DataType.INT8);
                assertThat(a.toByteArray()).containsExactly(-128, -1, 0, 127);
            }
            try (NDArray a = f.load("u8", m)) {
                assertThat(a.getDataType()).isEqualTo(DataType.UINT8);
                assertThat(a.toUint8Array()).containsExactly(0, 1, 200, 255);
            }
            try (NDArray a = f.load("bool", m)) {
                assertThat(a.getDataType()).isEqualTo(DataType.BOOLEAN);
                assertThat(a.toBooleanArray()).containsExactly(true, false, true);
            }
            try (NDArray a = f.load("scalar", m)) {
                assertThat(a.getShape()).isEqualTo(new Shape());
                assertThat(a.getFloat()).isEqualTo(42f);
            }
            assertThat(f.entry("empty").byteLength()).isZero();
            try (NDArray a = f.load("empty", m)) {
                assertThat(a.getShape()).isEqualTo(new Shape(0, 3));
                assertThat(a.size()).isZero();
            }
            assertThat(f.readFloats("empty")).isEmpty();

            Map<String, NDArray> all = f.loadAll(m);
            assertThat(all.keySet()).containsExactlyElementsOf(f.names());
            all.values().forEach(NDArray::close);
        }
    }
}
