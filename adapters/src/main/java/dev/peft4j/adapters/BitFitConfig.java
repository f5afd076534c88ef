package dev.peft4j.adapters;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import java.util.List;

/**
 * Settings of {@code method = bitfit} ({@code peft4j.methods.bitfit}).
 *
 * @param modulesToSave modules (path or dotted suffix) trained in full beside the biases
 */
public record BitFitConfig(List<String> modulesToSave) {
    public BitFitConfig {
        modulesToSave = List.copyOf(requireNonNull(modulesToSave, "modulesToSave is null"));
    }

    /** Parses a {@code peft4j.methods.bitfit} section (defaults merged in). */
    public static BitFitConfig from(Config section) {
        ConfigReader reader = new ConfigReader(requireNonNull(section, "section is null"), "").allow("name");
        List<String> modules = reader.stringList("modules-to-save");
        for (String m : modules) {
            if (m.isEmpty() || m.startsWith(".") || m.endsWith(".")) {
                reader.problem("modules-to-save", "entry '" + m + "' is not a module name");
            }
        }
        reader.finish();
        return new BitFitConfig(modules);
    }
}
