package dev.peft4j.runtime.plugin;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.spi.Peft4jPlugin;

/**
 * A discovered plugin.
 *
 * @param plugin the instance
 * @param source where it came from: its jar or directory (for messages and {@code peft4j plugins})
 * @param classLoader the loader that defined it: the application loader for built-ins, its own
 *     {@link PluginClassLoader} for a plugin-directory jar
 * @param reference the {@code reference.conf} of the plugin's own jars (empty for built-ins, whose
 *     reference.conf is on the application classpath)
 * @param builtIn whether it came from the application classpath
 */
public record LoadedPlugin(Peft4jPlugin plugin, String source, ClassLoader classLoader, Config reference, boolean builtIn) {
    public LoadedPlugin {
        requireNonNull(plugin, "plugin is null");
        requireNonNull(source, "source is null");
        requireNonNull(classLoader, "classLoader is null");
        requireNonNull(reference, "reference is null");
    }

    public String name() {
        return plugin.name();
    }

    /** "peft4j-lora (built-in, /…/peft4j-lora.jar)" */
    public String describe() {
        return plugin.name() + " (" + (builtIn ? "built-in, " : "") + source + ")";
    }
}
