package dev.peft4j.api.config;

import static java.util.Objects.requireNonNull;

/**
 * One thing wrong with a configuration. {@code origin} is "file:line" (or a description such as
 * "command line" / "defaults") when known, else empty.
 */
public record ConfigProblem(String key, String origin, String message) {
    public ConfigProblem {
        requireNonNull(key, "key is null");
        requireNonNull(origin, "origin is null");
        requireNonNull(message, "message is null");
    }

    @Override
    public String toString() {
        return (origin.isEmpty() ? "" : origin + ": ") + key + ": " + message;
    }
}
