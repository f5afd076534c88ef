package dev.peft4j.models.safetensors;

import static dev.peft4j.models.safetensors.SafetensorsTestFiles.file;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each broken-file case raises a SafetensorsException naming the file and, where relevant, the tensor. */
class SafetensorsHostileTest {
    @TempDir
    Path dir;

    private static final String A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    private static String entry(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":" + dtype + ",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    static Stream<Arguments> cases() {
        byte[] eight = new byte[8];
        byte[] good = file("{" + A + "}", eight);
        byte[] notUtf8 = {(byte) 0x7b, (byte) 0x22, (byte) 0xff, (byte) 0x22, (byte) 0x3a, (byte) 0x31, (byte) 0x7d}; // {"\xff":1}
        return Stream.of(
                Arguments.of("empty file", new byte[0], null, "shorter than the 8-byte header length"),
                Arguments.of("7 bytes", new byte[7], null, "shorter than the 8-byte header length"),
                Arguments.of("header length beyond the file", file(1000, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]), null,
                        "header length 1000 goes beyond the end of the file (10 bytes"),
                Arguments.of("header length over 100 MB", file(100_000_001L, new byte[0], new byte[0]), null,
                        "exceeds the limit of 100000000 bytes"),
                Arguments.of("header length negative as signed", file(-1L, new byte[0], new byte[0]), null,
                        "header length 18446744073709551615 exceeds"),
                Arguments.of("header not UTF-8", file(notUtf8.length, notUtf8, new byte[0]), null, "not valid UTF-8"),
                Arguments.of("header not JSON", file("{\"a\":", new byte[0]), null, "not valid JSON"),
                Arguments.of("header JSON array", file("[1,2]", new byte[0]), null, "not a JSON object"),
                Arguments.of("header JSON then junk", file("{} x", new byte[0]), null, "not valid JSON"),
                Arguments.of("lenient JSON (single quotes)", file("{'a':{}}", new byte[0]), null, "not valid JSON"),
                Arguments.of("entry not an object", file("{\"w\":5}", new byte[0]), "w", "expected a JSON object"),
                Arguments.of("missing dtype", file("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", eight), "a", "no 'dtype'"),
                Arguments.of("missing shape", file("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", eight), "a", "no 'shape'"),
                Arguments.of("missing data_offsets", file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight), "a",
                        "no 'data_offsets'"),
                Arguments.of("unknown dtype", file("{" + entry("a", "\"F31\"", "[2]", "[0,8]") + "}", eight), "a",
                        "unknown or unsupported dtype 'F31'"),
                Arguments.of("lower-case dtype", file("{" + entry("a", "\"f32\"", "[2]", "[0,8]") + "}", eight), "a",
                        "unknown or unsupported dtype 'f32'"),
                Arguments.of("unsupported HF dtype", file("{" + entry("a", "\"U16\"", "[4]", "[0,8]") + "}", eight), "a",
                        "unknown or unsupported dtype 'U16'"),
                Arguments.of("dtype not a string", file("{" + entry("a", "4", "[2]", "[0,8]") + "}", eight), "a",
                        "dtype is NUMBER"),
                Arguments.of("negative dim", file("{" + entry("a", "\"F32\"", "[-2]", "[0,8]") + "}", eight), "a",
                        "shape holds -2, expected a non-negative integer"),
                Arguments.of("fractional dim", file("{" + entry("a", "\"F32\"", "[2.0]", "[0,8]") + "}", eight), "a",
                        "shape holds 2.0"),
                Arguments.of("string dim", file("{" + entry("a", "\"F32\"", "[\"2\"]", "[0,8]") + "}", eight), "a",
                        "shape holds STRING"),
                Arguments.of("huge dim", file("{" + entry("a", "\"F32\"", "[99999999999999999999]", "[0,8]") + "}", eight), "a",
                        "is too large"),
                Arguments.of("shape product overflow",
                        file("{" + entry("a", "\"F32\"", "[4294967296,4294967296]", "[0,8]") + "}", eight), "a", "overflows 64 bits"),
                Arguments.of("shape x dtype overflow",
                        file("{" + entry("a", "\"F64\"", "[2305843009213693952]", "[0,8]") + "}", eight), "a", "overflows 64 bits"),
                Arguments.of("three offsets", file("{" + entry("a", "\"F32\"", "[2]", "[0,8,8]") + "}", eight), "a",
                        "data_offsets has 3 values, expected 2"),
                Arguments.of("offsets not an array", file("{" + entry("a", "\"F32\"", "[2]", "8") + "}", eight), "a",
                        "data_offsets is NUMBER"),
                Arguments.of("begin > end", file("{" + entry("a", "\"F32\"", "[0]", "[8,0]") + "}", eight), "a",
                        "data_offsets [8, 0] are reversed"),
                Arguments.of("end beyond the data", file("{" + entry("a", "\"F32\"", "[4]", "[0,16]") + "}", eight), "a",
                        "go beyond the data section of 8 bytes"),
                Arguments.of("shape x dtype != bytes", file("{" + entry("a", "\"F32\"", "[3]", "[0,8]") + "}", eight), "a",
                        "needs 12 bytes but data_offsets [0, 8] hold 8"),
                Arguments.of("overlap", file("{" + entry("a", "\"F32\"", "[2]", "[0,8]") + "," + entry("b", "\"F32\"", "[1]", "[4,8]")
                        + "}", eight), "b", "overlap tensor 'a'"),
                Arguments.of("gap", file("{" + entry("a", "\"F32\"", "[1]", "[4,8]") + "}", eight), "a", "leave a gap"),
                Arguments.of("trailing bytes", file("{" + A + "}", new byte[9]), null, "trailing bytes"),
                Arguments.of("duplicate name", file("{" + A + "," + A + "}", eight), "a", "duplicate name"),
                Arguments.of("duplicate key in entry",
                        file("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", eight), "a",
                        "duplicate key 'dtype'"),
                Arguments.of("metadata value not a string", file("{\"__metadata__\":{\"k\":1}," + A + "}", eight), null,
                        "__metadata__ value of 'k' is NUMBER"),
                Arguments.of("truncated file", Arrays.copyOf(good, good.length - 1), "a",
                        "go beyond the data section of 7 bytes"),
                Arguments.of("deeply nested junk", file("{\"a\":{\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}}", eight), null,
                        "not valid JSON"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void brokenFileRaisesSafetensorsExceptionNamingFileAndTensor(String description, byte[] bytes, String tensor, String message) {
        Path path = SafetensorsTestFiles.write(dir, "broken.safetensors", bytes);
        assertThatThrownBy(() -> SafetensorsFile.open(path).close())
                .as(description)
                .isExactlyInstanceOf(SafetensorsException.class)
                .hasMessageStartingWith("safetensors file " + path + (tensor == null ? ":" : ", tensor '" + tensor + "':"))
                .hasMessageContaining(message)
                .satisfies(e -> assertThat(((SafetensorsException) e).tensor()).isEqualTo(java.util.Optional.ofNullable(tensor)));
    }

    @Test
    void tensorsOfManyDimensionsLoadOrFailWithSafetensorsException() {
        for (int rank : new int[] {64, 65, 200, 1000}) {
            String shape = "[" + String.join(",", java.util.Collections.nCopies(rank, "1")) + "]";
            Path path = SafetensorsTestFiles.write(dir, "rank" + rank + ".safetensors",
                    file("{" + entry("deep", "\"F32\"", shape, "[0,4]") + "}", new byte[] {0, 0, (byte) 0x80, 0x3f}));
            try (SafetensorsFile f = SafetensorsFile.open(path); ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                try (ai.djl.ndarray.NDArray a = f.load("deep", m)) {
                    assertThat(a.getShape().dimension()).isEqualTo(rank);
                    assertThat(a.toFloatArray()).containsExactly(1f);
                } catch (SafetensorsException e) {
                    assertThat(e).hasMessageContaining("tensor 'deep'");
                }
            }
        }
    }

    @Test
    void validBaselineOfTheCasesLoads() {
        Path path = SafetensorsTestFiles.write(dir, "ok.safetensors",
                file("{\"__metadata__\":{\"k\":\"v\"}," + A + ",\"b\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[8,9],\"extra\":[1]}}  ",
                        new byte[9]));
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            assertThat(f.names()).containsExactly("a", "b");
            assertThat(f.metadata()).containsEntry("k", "v");
        }
    }

    @Test
    @SuppressWarnings("try") // close() inside try-with-resources: use after close is what is tested
    void missingFileDirectoryAndMissingTensorAreNamed() {
        Path missing = dir.resolve("nope.safetensors");
        assertThatThrownBy(() -> SafetensorsFile.open(missing)).isExactlyInstanceOf(SafetensorsException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("file not found");
        assertThatThrownBy(() -> SafetensorsFile.open(dir)).isExactlyInstanceOf(SafetensorsException.class)
                .hasMessageContaining("is a directory");

        Path path = SafetensorsTestFiles.write(dir, "golden.safetensors", SafetensorsTestFiles.goldenBytes());
        try (SafetensorsFile f = SafetensorsFile.open(path)) {
            assertThatThrownBy(() -> f.entry("f33"))
                    .isExactlyInstanceOf(SafetensorsException.class)
                    .hasMessageStartingWith("safetensors file " + path + ", tensor 'f33': no such tensor; the file has 12 tensors")
                    .hasMessageContaining("f32").hasMessageContaining("f16");
            assertThatThrownBy(() -> f.readFloats("i32")).isExactlyInstanceOf(SafetensorsException.class)
                    .hasMessageContaining("tensor 'i32'").hasMessageContaining("not a floating-point type");
            f.close();
            assertThatThrownBy(() -> f.rawBytes("f32")).isExactlyInstanceOf(SafetensorsException.class)
                    .hasMessageContaining("closed");
        }
    }
}
