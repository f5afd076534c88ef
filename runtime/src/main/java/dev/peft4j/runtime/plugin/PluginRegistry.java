package dev.peft4j.runtime.plugin;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.ComponentFactory;
import dev.peft4j.api.spi.DatasetReaderFactory;
import dev.peft4j.api.spi.ObjectiveFactory;
import dev.peft4j.api.spi.TaskHeadFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The discovered plugins and their factories by kind and registered name. Immutable; built by
 * {@link PluginDiscovery}, which refuses duplicate names. Lookups of unknown names fail listing the
 * registered ones.
 */
public final class PluginRegistry {
    /** A factory name: lower case, digits, single dashes or underscores between parts (a config path element). */
    static final Pattern NAME = Pattern.compile("[a-z0-9]+([-_][a-z0-9]+)*");

    /** A factory and the plugin that registered it. */
    public record Registration<F extends ComponentFactory<?>>(ComponentKind kind, F factory, LoadedPlugin plugin) {
        public String name() {
            return factory.name();
        }
    }

    private final List<LoadedPlugin> plugins;
    private final Map<ComponentKind, Map<String, Registration<?>>> registrations;
    private final Config reference;
    private final Config resolvedReference;

    private PluginRegistry(List<LoadedPlugin> plugins, Map<ComponentKind, Map<String, Registration<?>>> registrations, Config reference) {
        this.plugins = plugins;
        this.registrations = registrations;
        this.reference = reference;
        try {
            this.resolvedReference = reference.resolve();
        } catch (com.typesafe.config.ConfigException e) {
            throw new PluginLoadException(List.of("the reference.conf defaults do not resolve: " + e.getMessage()), e);
        }
    }

    /**
     * Builds the registry, or throws {@link PluginLoadException} listing every duplicate or invalid
     * name. {@code hostReference} is the (unresolved) reference.conf of the application classpath.
     */
    public static PluginRegistry of(List<LoadedPlugin> plugins, Config hostReference) {
        requireNonNull(plugins, "plugins is null");
        requireNonNull(hostReference, "hostReference is null");
        List<String> problems = new ArrayList<>();
        Map<String, LoadedPlugin> byPluginName = new LinkedHashMap<>();
        Map<ComponentKind, Map<String, Registration<?>>> all = new EnumMap<>(ComponentKind.class);
        for (ComponentKind kind : ComponentKind.values()) {
            all.put(kind, new LinkedHashMap<>());
        }
        for (LoadedPlugin p : plugins) {
            LoadedPlugin other = byPluginName.putIfAbsent(p.name(), p);
            if (other != null) {
                problems.add("plugin name '" + p.name() + "' is used by two plugins: " + other.source() + " and " + p.source());
            }
            for (ComponentKind kind : ComponentKind.values()) {
                for (ComponentFactory<?> f : kind.factoriesOf(p.plugin())) {
                    String name = f.name();
                    if (name == null || !NAME.matcher(name).matches()) {
                        problems.add(p.source() + ": " + kind.label() + " name '" + name + "' of " + f.getClass().getName()
                                + " is not a valid name (lower-case letters and digits, parts joined by '-' or '_')");
                        continue;
                    }
                    Registration<?> previous = all.get(kind).putIfAbsent(name, new Registration<>(kind, f, p));
                    if (previous != null) {
                        problems.add(kind.label() + " '" + name + "' is registered twice: by plugin '" + previous.plugin().name() + "' from "
                                + previous.plugin().source() + " and by plugin '" + p.name() + "' from " + p.source());
                    }
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new PluginLoadException(problems, null);
        }
        Config reference = hostReference;
        for (LoadedPlugin p : plugins) {
            reference = reference.withFallback(p.reference());
        }
        Map<ComponentKind, Map<String, Registration<?>>> frozen = new EnumMap<>(ComponentKind.class);
        all.forEach((k, v) -> frozen.put(k, Collections.unmodifiableMap(new LinkedHashMap<>(v))));
        return new PluginRegistry(List.copyOf(plugins), Collections.unmodifiableMap(frozen), reference);
    }

    /** Every plugin, built-ins first, in discovery order. */
    public List<LoadedPlugin> plugins() {
        return plugins;
    }

    /** The registrations of one kind by name, in discovery order. */
    public Map<String, Registration<?>> registrations(ComponentKind kind) {
        return registrations.get(kind);
    }

    public Set<String> names(ComponentKind kind) {
        return registrations.get(kind).keySet();
    }

    public Optional<Registration<?>> find(ComponentKind kind, String name) {
        return Optional.ofNullable(registrations.get(kind).get(name));
    }

    /** The registration, or a {@link Peft4jException} naming the registered names and the closest one. */
    public Registration<?> lookup(ComponentKind kind, String name) {
        return find(kind, name).orElseThrow(() -> new Peft4jException(unknownNameMessage(kind, name)));
    }

    /** "unknown adapter method 'lroa' (did you mean 'lora'?); registered: [lora, full]" */
    public String unknownNameMessage(ComponentKind kind, String name) {
        Set<String> known = names(kind);
        return "unknown " + kind.label() + " '" + name + "'" + ConfigReader.suggestion(String.valueOf(name), known) + "; registered "
                + kind.label() + "s: " + (known.isEmpty() ? "none" : String.join(", ", known));
    }

    public AdapterMethodFactory<?> adapterMethod(String name) {
        return (AdapterMethodFactory<?>) lookup(ComponentKind.ADAPTER_METHOD, name).factory();
    }

    public TaskHeadFactory<?> taskHead(String name) {
        return (TaskHeadFactory<?>) lookup(ComponentKind.TASK_HEAD, name).factory();
    }

    public ObjectiveFactory<?> objective(String name) {
        return (ObjectiveFactory<?>) lookup(ComponentKind.OBJECTIVE, name).factory();
    }

    public DatasetReaderFactory<?> datasetReader(String name) {
        return (DatasetReaderFactory<?>) lookup(ComponentKind.DATASET_READER, name).factory();
    }

    /**
     * All defaults, unresolved: every {@code reference.conf} of the application classpath, then each
     * plugin jar's own.
     */
    public Config reference() {
        return reference;
    }

    /** A factory's defaults ({@code peft4j.methods.lora}), resolved; empty when it declares none. */
    public Config defaults(ComponentKind kind, String name) {
        String path = kind.defaultsPath(name);
        return resolvedReference.hasPath(path) ? resolvedReference.getConfig(path) : ConfigFactory.empty();
    }
}
