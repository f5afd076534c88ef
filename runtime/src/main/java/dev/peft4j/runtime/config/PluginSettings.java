package dev.peft4j.runtime.config;

import dev.peft4j.api.config.ConfigReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@code plugins} section.
 *
 * @param directory the third-party plugin directory, if any
 */
public record PluginSettings(Optional<Path> directory) {
    public static final SettingsSection<PluginSettings> SECTION = new SettingsSection<>() {
        @Override
        public String path() {
            return "plugins";
        }

        @Override
        public Class<PluginSettings> type() {
            return PluginSettings.class;
        }

        @Override
        public PluginSettings read(ConfigReader r) {
            Optional<Path> dir = RunSettings.path(r, "dir");
            if (dir.isPresent() && !Files.isDirectory(dir.get())) {
                r.problem("dir", "is '" + dir.get() + "', which is not a directory");
            }
            return new PluginSettings(dir);
        }
    };
}
