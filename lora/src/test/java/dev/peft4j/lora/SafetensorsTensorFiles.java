package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.Map;

/** Test-only TensorFiles over the models module's safetensors codec (the host provides the real one). */
final class SafetensorsTensorFiles implements TensorFiles {
    static final SafetensorsTensorFiles INSTANCE = new SafetensorsTensorFiles();

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
