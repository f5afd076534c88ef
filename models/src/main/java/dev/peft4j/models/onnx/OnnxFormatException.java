package dev.peft4j.models.onnx;

import dev.peft4j.api.Peft4jException;

/** An ONNX file that is not a well-formed ModelProto, or one whose content the importer cannot map. */
public class OnnxFormatException extends Peft4jException {
    private static final long serialVersionUID = 1L;

    public OnnxFormatException(String message) {
        super(message);
    }

    public OnnxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
