package dev.peft4j.models.safetensors;

import dev.peft4j.api.Peft4jException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A safetensors file could not be read or written. The message starts with the file and, where
 * one is concerned, the tensor: {@code safetensors file /m/model.safetensors, tensor 'a.weight': ...}.
 */
public class SafetensorsException extends Peft4jException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String tensor;

    public SafetensorsException(Path file, String tensor, String problem) {
        super(format(file, tensor, problem));
        this.file = file;
        this.tensor = tensor;
    }

    public SafetensorsException(Path file, String tensor, String problem, Throwable cause) {
        super(format(file, tensor, problem), cause);
        this.file = file;
        this.tensor = tensor;
    }

    private static String format(Path file, String tensor, String problem) {
        return "safetensors file " + file + (tensor == null ? "" : ", tensor '" + tensor + "'") + ": " + problem;
    }

    /** The file concerned. */
    public Path file() {
        return file;
    }

    /** The tensor concerned, if the problem is about one. */
    public Optional<String> tensor() {
        return Optional.ofNullable(tensor);
    }
}
