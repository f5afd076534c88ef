package dev.peft4j.runtime;

import dev.peft4j.api.Peft4jException;

/** Work stopped at a safe point because a stop was requested ({@link Interruption}); carries the shell exit status. */
public final class RunInterruptedException extends Peft4jException {
    private static final long serialVersionUID = 1L;

    private final int exitCode;

    public RunInterruptedException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    /** 130 for SIGINT, 143 for SIGTERM. */
    public int exitCode() {
        return exitCode;
    }
}
