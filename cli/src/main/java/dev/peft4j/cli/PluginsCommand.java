package dev.peft4j.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import dev.peft4j.api.spi.ComponentFactory;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.plugin.ComponentKind;
import dev.peft4j.runtime.plugin.LoadedPlugin;
import dev.peft4j.runtime.plugin.PluginLoadException;
import dev.peft4j.runtime.plugin.PluginRegistry;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code peft4j plugins [--plugins DIR]}: every discovered plugin with its jar, and each of its
 * methods, heads, objectives and dataset readers with their config keys and defaults.
 */
@Command(name = "plugins", mixinStandardHelpOptions = true, description = "List the plugins (built-in and from --plugins DIR) with their components and config keys.")
public final class PluginsCommand implements Callable<Integer> {
    @Option(names = "--plugins", paramLabel = "DIR", description = "Directory of third-party plugin jars.")
    Path pluginDir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Peft4j peft4j = Peft4j.builder().pluginDir(pluginDir).build()) {
            PluginRegistry registry = peft4j.registry();
            for (LoadedPlugin plugin : registry.plugins()) {
                out.println(plugin.name() + "  (" + (plugin.builtIn() ? "built-in: " : "plugin: ") + plugin.source() + ")");
                for (ComponentKind kind : ComponentKind.values()) {
                    registry.registrations(kind).values().stream().filter(r -> r.plugin() == plugin).forEach(r -> {
                        ComponentFactory<?> f = r.factory();
                        out.println("  " + kind.label() + " " + f.name() + (f.description().isEmpty() ? "" : ": " + f.description()));
                        Config defaults = registry.defaults(kind, f.name());
                        if (defaults.isEmpty()) {
                            out.println("    (no config keys)");
                        }
                        Map<String, ConfigValue> sorted = new TreeMap<>();
                        flatten("", defaults.root(), sorted);
                        sorted.forEach((key, value) -> out.println("    " + key + " = " + value.render(ConfigRenderOptions.concise())));
                    });
                }
            }
            out.flush();
            return 0;
        } catch (PluginLoadException e) {
            PrintWriter err = spec.commandLine().getErr();
            e.problems().forEach(p -> err.println("error: " + p));
            err.flush();
            return 1;
        }
    }

    /**
     * Every key of a defaults section, null-valued and empty-object ones included ({@code Config.entrySet()} drops
     * both, which hid keys such as {@code target-modules = null} and {@code rank-pattern = {}}).
     */
    static void flatten(String prefix, com.typesafe.config.ConfigObject object, Map<String, ConfigValue> out) {
        object.forEach((k, v) -> {
            String key = prefix.isEmpty() ? com.typesafe.config.ConfigUtil.joinPath(k) : prefix + "." + com.typesafe.config.ConfigUtil.joinPath(k);
            if (v instanceof com.typesafe.config.ConfigObject o && !o.isEmpty()) {
                flatten(key, o, out);
            } else {
                out.put(key, v);
            }
        });
    }
}
