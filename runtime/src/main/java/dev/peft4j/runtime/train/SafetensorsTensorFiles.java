package dev.peft4j.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.Map;

/** The host's {@link TensorFiles}: safetensors through the models module (atomic writes, strict reads). */
public final class SafetensorsTensorFiles implements TensorFiles {
    @Override
    public void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
        SafetensorsWriter.write(file, tensors, metadata);
    }

    @Override
    public Map<String, NDArray> read(Path file, NDManager manager) {
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
