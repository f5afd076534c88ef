package dev.peft4j.api.spi;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.Map;

/** Host-provided tensor file I/O in the safetensors format (atomic writes, strict validated reads). */
public interface TensorFiles {
    /** Writes the tensors (in map order) with the metadata, atomically. */
    void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata);

    /** Reads every tensor (torch-owned, in {@code manager}); BF16 arrives as F32. */
    Map<String, NDArray> read(Path file, NDManager manager);

    Map<String, String> metadata(Path file);
}
