package dev.peft4j.runtime.config;

import dev.peft4j.api.config.ConfigReader;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The host's keys of the {@code method} section (the method's own keys are read by its factory).
 *
 * @param initFrom a PEFT adapter directory (HF PEFT or peft4j) whose weights the method starts from
 */
public record MethodSettings(Optional<Path> initFrom) {
    public MethodSettings {
        java.util.Objects.requireNonNull(initFrom, "initFrom is null");
    }

    /** The {@link SettingsSection} of {@code method}'s host keys. */
    public static final SettingsSection<MethodSettings> SECTION = new SettingsSection<>() {
        @Override
        public String path() {
            return "method";
        }

        @Override
        public Class<MethodSettings> type() {
            return MethodSettings.class;
        }

        @Override
        public MethodSettings read(ConfigReader r) {
            // the directory is checked when training starts (InitFrom), not here: a finished run whose init-from directory
            // was removed since must still evaluate and predict
            r.allow("name"); // the selector, read by the validator
            Optional<Path> dir = RunSettings.path(r, "init-from");
            return new MethodSettings(dir);
        }
    };
}
