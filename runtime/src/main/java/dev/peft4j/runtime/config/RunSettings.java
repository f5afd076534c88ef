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
            if (name.isBlank()) {
                r.problem("name", "is empty, expected a run name");
            }
            return new RunSettings(name, RunSettings.path(r, "dir").orElse(Path.of("runs", name)));
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
            r.problem(key, "is '" + text.get() + "', not a valid path: " + e.getReason());
            return java.util.Optional.empty();
        }
    }
}
