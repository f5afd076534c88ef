package dev.peft4j.runtime.config;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import dev.peft4j.api.Peft4jException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An experiment that passed validation: the resolved config (every component section filled with
 * its factory's defaults), each host section's typed settings and each component's parsed config.
 * Nothing here has been loaded or run yet.
 *
 * @param source the experiment file or config description
 * @param config the effective resolved config: the experiment sections only (no {@code peft4j.*} defaults tree)
 * @param settings typed host-section settings by section path ({@code model}, {@code run}, {@code train}, ...)
 * @param method the adapter method
 * @param head the task head, if {@code head.name} is set
 * @param objectives the extra objectives, in order
 * @param datasets the configured data splits by name ({@code train}, {@code eval}), those with a path
 * @param listeners the run listeners of the {@code tracking} section, in order
 */
public record ValidatedExperiment(String source, Config config, Map<String, Object> settings, ConfiguredComponent method,
        Optional<ConfiguredComponent> head, List<ConfiguredComponent> objectives, Map<String, ConfiguredComponent> datasets,
        List<ConfiguredComponent> listeners) {
    public ValidatedExperiment(String source, Config config, Map<String, Object> settings, ConfiguredComponent method,
            Optional<ConfiguredComponent> head, List<ConfiguredComponent> objectives, Map<String, ConfiguredComponent> datasets) {
        this(source, config, settings, method, head, objectives, datasets, List.of());
    }

    public ValidatedExperiment {
        requireNonNull(source, "source is null");
        requireNonNull(config, "config is null");
        settings = Map.copyOf(settings);
        requireNonNull(method, "method is null");
        requireNonNull(head, "head is null");
        objectives = List.copyOf(objectives);
        datasets = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(datasets));
        listeners = List.copyOf(listeners);
    }

    /** The settings a {@link SettingsSection} of this type read. */
    public <T> T settings(Class<T> type) {
        return settings.values().stream().filter(type::isInstance).map(type::cast).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no settings of type " + type.getName() + "; have " + settings.keySet()));
    }

    public ModelSettings model() {
        return settings(ModelSettings.class);
    }

    public RunSettings run() {
        return settings(RunSettings.class);
    }

    /** The resolved config as HOCON, as written to {@code resolved.conf}; it validates again to the same experiment. */
    public String render() {
        return "# resolved from " + source + "\n" + config.root().render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
    }

    /** Writes {@link #render()} to {@code directory/resolved.conf} (atomically). */
    public Path writeResolved(Path directory) {
        try {
            Files.createDirectories(directory);
            Path target = directory.resolve("resolved.conf");
            // not createTempFile: its 0600 mode would survive the rename; a plain new file gets the user's umask
            Path tmp = directory.resolve(".resolved.conf.tmp-" + Long.toUnsignedString(System.nanoTime(), 36));
            Files.writeString(tmp, render());
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new Peft4jException("cannot write resolved.conf into " + directory + ": " + e.getMessage(), e);
        }
    }
}
