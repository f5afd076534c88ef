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

    /**
     * This problem with its key placed under {@code path} (the host calls this on problems a factory
     * reported with keys relative to its section). A key that already starts with the path is kept.
     */
    public ConfigProblem under(String path) {
        requireNonNull(path, "path is null");
        if (path.isEmpty() || key.equals(path) || key.startsWith(path + ".")) {
            return this;
        }
        return new ConfigProblem(key.isEmpty() ? path : path + "." + key, origin, message);
    }

    @Override
    public String toString() {
        return (origin.isEmpty() ? "" : origin + ": ") + key + ": " + message;
    }
}
