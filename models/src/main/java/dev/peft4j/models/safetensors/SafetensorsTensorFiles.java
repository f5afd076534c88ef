package dev.peft4j.models.safetensors;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.spi.TensorFiles;
import java.nio.file.Path;
import java.util.Map;

/**
 * The host's {@link TensorFiles} service: {@link SafetensorsWriter} for writing (atomic, HF
 * readable) and {@link SafetensorsFile} for strict, validated reading.
 */
public final class SafetensorsTensorFiles implements TensorFiles {
    @Override
    public void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
        SafetensorsWriter.write(file, tensors, metadata);
    }

    @Override
    public Map<String, NDArray> read(Path file, NDManager manager) {
        requireNonNull(manager, "manager is null");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.loadAll(manager);
        }
    }

    @Override
    public Map<String, String> metadata(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.metadata();
        }
    }
}
