package dev.peft4j.runtime.config;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.config.ConfigReader;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * The {@code run} section.
 *
 * @param name the run's name
 * @param directory where the run writes its outputs (relative paths: against the working directory)
 */
public record RunSettings(String name, Path directory) {
    public RunSettings {
        requireNonNull(name, "name is null");
        requireNonNull(directory, "directory is null");
    }

    public static final SettingsSection<RunSettings> SECTION = new SettingsSection<>() {
        @Override
        public String path() {
            return "run";
        }

        @Override
        public Class<RunSettings> type() {
            return RunSettings.class;
        }

        @Override
        public RunSettings read(ConfigReader r) {
            String name = r.string("name");
            Path fallback = Path.of("runs", "run");
            if (name.isBlank()) {
                r.problem("name", "is empty, expected a run name");
            } else {
                try {
                    fallback = Path.of("runs", name);
                } catch (InvalidPathException e) {
                    // found by ConfigFilesFuzzTest: a NUL in the name escaped as a raw InvalidPathException
                    r.problem("name", "is '" + name.replace("\0", "\\u0000") + "', not usable as a directory name: " + e.getReason());
                }
            }
            return new RunSettings(name, RunSettings.path(r, "dir").orElse(fallback));
        }
    };

    static java.util.Optional<Path> path(ConfigReader r, String key) {
        java.util.Optional<String> text = r.optionalString(key);
        if (text.isEmpty()) {
            return java.util.Optional.empty();
        }
        try {
            return java.util.Optional.of(Path.of(text.get()));
        } catch (InvalidPathException e) {
            r.problem(key, "is '" + text.get().replace("\0", "\\u0000") + "', not a valid path: " + e.getReason());
            return java.util.Optional.empty();
        }
    }
}
