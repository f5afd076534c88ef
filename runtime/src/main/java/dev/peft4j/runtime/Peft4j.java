package dev.peft4j.runtime;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.util.Modules;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.runtime.config.ConfiguredComponent;
import dev.peft4j.runtime.config.ExperimentConfig;
import dev.peft4j.runtime.plugin.ComponentKind;
import dev.peft4j.runtime.plugin.LoadedPlugin;
import dev.peft4j.runtime.plugin.PluginClassLoader;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.runtime.plugin.PluginDiscovery;
import dev.peft4j.runtime.plugin.PluginRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * peft4j from Java. Discovers the plugins (built-ins, plus a plugin directory), then either loads
 * experiments from HOCON files or {@link Config}s, or adapts a model directly:
 *
 * <pre>{@code
 * try (Peft4j peft4j = Peft4j.builder().pluginDir(Path.of("plugins")).build()) {
 *     peft4j.experiment(Path.of("exp.conf"), "train.epochs=3").run();
 *     Adaptation lora = peft4j.adapt(model, "lora", Map.of("r", 8, "target-modules", List.of("query", "value")));
 * }
 * }</pre>
 *
 * Closing it closes the plugin class loaders.
 */
public final class Peft4j implements AutoCloseable {
    private final ClassLoader hostLoader;
    private final Optional<Path> pluginDir;
    private final List<com.google.inject.Module> overrides;
    private final Map<Optional<Path>, Injector> hosts = new LinkedHashMap<>();

    private Peft4j(Builder b) {
        this.hostLoader = b.hostLoader;
        this.pluginDir = Optional.ofNullable(b.pluginDir);
        this.overrides = List.copyOf(b.overrides);
        host(pluginDir); // discover now, so that plugin errors surface at build()
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link Peft4j}. */
    public static final class Builder {
        private ClassLoader hostLoader = Peft4j.class.getClassLoader();
        private Path pluginDir;
        private final List<com.google.inject.Module> overrides = new ArrayList<>();

        private Builder() {}

        /** Third-party plugins: each jar (or subdirectory of jars) in {@code dir} is one plugin. Wins over {@code plugins.dir}. */
        public Builder pluginDir(Path dir) {
            this.pluginDir = dir;
            return this;
        }

        /** Where built-in plugins and the shared packages come from (default: peft4j's own loader). */
        public Builder hostClassLoader(ClassLoader loader) {
            this.hostLoader = requireNonNull(loader, "loader is null");
            return this;
        }

        /** Guice modules whose bindings replace the host's ({@code ExperimentRunner}, {@code ModelLoader}, ...). */
        public Builder override(com.google.inject.Module... modules) {
            overrides.addAll(List.of(modules));
            return this;
        }

        /** @throws dev.peft4j.runtime.plugin.PluginLoadException if a plugin cannot be loaded */
        public Peft4j build() {
            return new Peft4j(this);
        }
    }

    /** The plugins found with the builder's plugin directory. */
    public PluginRegistry registry() {
        return host(pluginDir).getInstance(PluginRegistry.class);
    }

    /** The Guice injector of the host (for the CLI and tests; plugins never see it). */
    public Injector injector() {
        return host(pluginDir);
    }

    /**
     * Loads an experiment file with {@code key=value} overrides. Plugins come from the builder's
     * plugin directory or, when none was given, from the file's {@code plugins.dir}.
     */
    public Experiment experiment(Path file, String... overrides) {
        return experiment(ExperimentConfig.load(file, List.of(overrides)));
    }

    /** An experiment given as a {@link Config}, with overrides. */
    public Experiment experiment(Config config, String... overrides) {
        return experiment(ExperimentConfig.load(config, List.of(overrides)));
    }

    private Experiment experiment(ExperimentConfig config) {
        // a plugins.dir that is not a directory is reported by validation, with its line
        Optional<Path> dir = pluginDir.isPresent() ? pluginDir : config.pluginDirectory().filter(Files::isDirectory);
        return new Experiment(config, host(dir));
    }

    /**
     * Applies a registered adapter method to {@code root} with the given settings over the method's
     * defaults ({@code Map.of("r", 8, "target-modules", List.of("query", "value"))}). Without a
     * {@link TransformerModel} the method's context has none ({@code context.model()} is empty).
     *
     * @throws InvalidConfigException listing every bad setting
     */
    public Adaptation adapt(Module root, String method, Map<String, ?> settings) {
        return adapt(root, null, method, settings);
    }

    /** Applies a registered adapter method to {@code model}'s module tree. */
    public Adaptation adapt(TransformerModel model, String method, Map<String, ?> settings) {
        requireNonNull(model, "model is null");
        return adapt(model.module(), model, method, settings);
    }

    private Adaptation adapt(Module root, TransformerModel model, String method, Map<String, ?> settings) {
        requireNonNull(root, "root is null");
        requireNonNull(method, "method is null");
        requireNonNull(settings, "settings is null");
        Injector injector = host(pluginDir);
        PluginRegistry registry = injector.getInstance(PluginRegistry.class);
        PluginRegistry.Registration<?> registration = registry.lookup(ComponentKind.ADAPTER_METHOD, method);
        Config section = ConfigFactory.parseMap(settings, "Java settings of method '" + method + "'")
                .withFallback(registry.defaults(ComponentKind.ADAPTER_METHOD, method));
        Object config;
        try {
            config = PluginClassLoader.withContextLoader(registration.plugin().classLoader(), () -> registration.factory().parseConfig(section));
        } catch (InvalidConfigException e) {
            throw new InvalidConfigException(e.problems().stream().map(p -> p.under("method")).toList());
        } catch (RuntimeException | LinkageError e) {
            throw new dev.peft4j.api.Peft4jException("method '" + method + "' from " + registration.plugin().source()
                    + " failed to read its config: " + e + " (a plugin bug)", e);
        }
        Config reference = injector.getInstance(Config.class);
        PluginContexts contexts = injector.getInstance(PluginContexts.class);
        PluginContext context = contexts.create(model, null, deviceOf(root), null, reference.getLong("train.seed"));
        ConfiguredComponent component = new ConfiguredComponent("method", registration, config, section);
        TrainableModelAssembly assembly = model != null ? TrainableModelAssembly.forModel(model, context, contexts)
                : TrainableModelAssembly.forModule(root, context, contexts);
        return assembly.method(component).assemble().adaptation();
    }

    private static Device deviceOf(Module root) {
        return root.namedParameters().values().stream().findFirst().map(Parameter::value).map(NDArray::getDevice).orElse(Device.cpu());
    }

    private synchronized Injector host(Optional<Path> dir) {
        Injector injector = hosts.get(dir);
        if (injector == null) {
            PluginRegistry registry = PluginDiscovery.discover(hostLoader, dir.orElse(null));
            com.google.inject.Module module = new HostModule(registry);
            injector = Guice.createInjector(overrides.isEmpty() ? module : Modules.override(module).with(overrides));
            hosts.put(dir, injector);
        }
        return injector;
    }

    /** Closes the class loaders of every plugin-directory plugin loaded. */
    @Override
    public synchronized void close() {
        List<String> failures = new ArrayList<>();
        for (Injector injector : hosts.values()) {
            for (LoadedPlugin p : injector.getInstance(PluginRegistry.class).plugins()) {
                if (p.classLoader() instanceof PluginClassLoader loader) {
                    try {
                        loader.close();
                    } catch (IOException e) {
                        failures.add(loader.source() + ": " + e.getMessage());
                    }
                }
            }
        }
        hosts.clear();
        if (!failures.isEmpty()) {
            throw new Peft4jException("cannot close plugin class loaders: " + failures);
        }
    }
}
