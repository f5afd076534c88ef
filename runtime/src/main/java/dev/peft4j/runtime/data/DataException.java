package dev.peft4j.runtime.data;

import dev.peft4j.api.Peft4jException;

/** A problem with a dataset: a missing file or column, a bad row, an unknown label, no examples. */
public class DataException extends Peft4jException {
    private static final long serialVersionUID = 1L;

    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
