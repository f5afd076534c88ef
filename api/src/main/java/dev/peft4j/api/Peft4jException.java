package dev.peft4j.api;

/**
 * Base class of every error peft4j reports to a user. Messages name what was wrong (the file, key,
 * tensor or module path), the bad value, and what would have been valid.
 */
public class Peft4jException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public Peft4jException(String message) {
        super(message);
    }

    public Peft4jException(String message, Throwable cause) {
        super(message, cause);
    }
}
