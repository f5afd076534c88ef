package dev.peft4j.models.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.spi.TensorFiles;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTensorFilesTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReadsBackThroughTheSpiService() {
        TensorFiles files = new SafetensorsTensorFiles();
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> in = new LinkedHashMap<>();
            in.put("b.weight", m.create(new float[] {1, 2, 3, 4}, new Shape(2, 2)));
            in.put("a.bias", m.create(new long[] {5}));
            Path path = dir.resolve("adapter_model.safetensors");
            files.write(path, in, Map.of("peft_type", "LORA"));
            assertThat(files.metadata(path)).containsEntry("format", "pt").containsEntry("peft_type", "LORA");
            Map<String, NDArray> out = files.read(path, m);
            assertThat(out.keySet()).containsExactly("b.weight", "a.bias");
            assertThat(out.get("b.weight").toFloatArray()).containsExactly(1, 2, 3, 4);
            assertThat(out.get("a.bias").toLongArray()).containsExactly(5);
            assertThatThrownBy(() -> files.read(dir.resolve("missing.safetensors"), m)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("missing.safetensors");
        }
    }

    /** Issue #15: an exponent bit flipped in a trained file used to load as a weight of about 1e38; the recorded SHA-256 catches it. */
    @Test
    void aFlippedBitInTheDataIsCaughtByTheRecordedChecksum() throws Exception {
        TensorFiles files = new SafetensorsTensorFiles();
        try (NDManager m = NDManager.newBaseManager()) {
            Path path = dir.resolve("trainable.safetensors");
            files.write(path, Map.of("w", m.create(new float[] {0.5f, -0.25f, 1f})), Map.of());
            assertThat(files.metadata(path).get(SafetensorsTensorFiles.CHECKSUM_KEY)).hasSize(64);
            byte[] bytes = java.nio.file.Files.readAllBytes(path);
            bytes[bytes.length - 1] ^= 0x40; // the exponent's top bit of the last float: 1.0 becomes about 1.7e38
            java.nio.file.Files.write(path, bytes);
            assertThatThrownBy(() -> files.read(path, m)).isInstanceOf(Peft4jException.class).hasMessageContaining(path.toString())
                    .hasMessageContaining("does not match the SHA-256 recorded");
            // a file written elsewhere (HF, PEFT) has no checksum and reads as before
            SafetensorsWriter.write(dir.resolve("hf.safetensors"), Map.of("w", m.create(new float[] {1f})), Map.of());
            assertThat(files.read(dir.resolve("hf.safetensors"), m).get("w").toFloatArray()).containsExactly(1f);
        }
    }
}
