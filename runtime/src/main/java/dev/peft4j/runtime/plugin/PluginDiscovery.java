package dev.peft4j.runtime.plugin;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.peft4j.api.spi.ComponentFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.SpiVersion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds plugins: the built-ins on the application classpath ({@code ServiceLoader} with the host
 * loader), then the plugin directory, where each {@code *.jar} and each subdirectory of jars is one
 * plugin in its own {@link PluginClassLoader}. Every problem (an empty or broken jar, an
 * incompatible SPI version, a duplicate name, a reference.conf that defines keys outside the
 * plugin's own sections) is collected and thrown together as a {@link PluginLoadException}.
 */
public final class PluginDiscovery {
    private static final String SERVICE_FILE = "META-INF/services/" + Peft4jPlugin.class.getName();

    private PluginDiscovery() {}

    /**
     * @param hostLoader the application class loader (built-ins, shared packages)
     * @param pluginDirectory the third-party plugin directory, or null for none
     */
    public static PluginRegistry discover(ClassLoader hostLoader, Path pluginDirectory) {
        requireNonNull(hostLoader, "hostLoader is null");
        List<String> problems = new ArrayList<>();
        List<Throwable> causes = new ArrayList<>();
        List<LoadedPlugin> plugins = new ArrayList<>();
        List<PluginClassLoader> loaders = new ArrayList<>();

        for (Peft4jPlugin plugin : load(hostLoader, "the application classpath", problems, causes)) {
            String source = codeSource(plugin.getClass());
            if (check(plugin, source, problems, causes)) {
                plugins.add(new LoadedPlugin(plugin, source, hostLoader, ConfigFactory.empty(), true));
            }
        }

        if (pluginDirectory != null) {
            for (List<Path> unit : units(pluginDirectory, problems)) {
                Path where = unit.get(0).getParent().equals(pluginDirectory) && unit.size() == 1 ? unit.get(0) : unit.get(0).getParent();
                PluginClassLoader loader = PluginClassLoader.forPath(where, unit, hostLoader);
                loaders.add(loader);
                List<Peft4jPlugin> found = load(loader, where.toString(), problems, causes);
                if (found.isEmpty() && problems.stream().noneMatch(p -> p.startsWith(where.toString()))) {
                    problems.add(where + ": contains no peft4j plugin (expected a " + SERVICE_FILE + " entry naming a class that"
                            + " implements " + Peft4jPlugin.class.getName() + ")");
                }
                Config reference = reference(loader, where, problems, causes);
                for (Peft4jPlugin plugin : found) {
                    if (plugin.getClass().getClassLoader() != loader) {
                        continue; // a shared class listed in the jar's services file; not this jar's plugin
                    }
                    if (check(plugin, where.toString(), problems, causes)) {
                        checkReferenceKeys(plugin, reference, where, problems);
                        plugins.add(new LoadedPlugin(plugin, where.toString(), loader, reference, false));
                    }
                }
            }
        }

        try {
            if (!problems.isEmpty()) {
                throw new PluginLoadException(problems, causes.isEmpty() ? null : causes.get(0));
            }
            return PluginRegistry.of(plugins, ConfigFactory.defaultReferenceUnresolved(hostLoader));
        } catch (RuntimeException e) {
            loaders.forEach(PluginDiscovery::closeQuietly);
            throw e;
        }
    }

    /** One unit per top-level jar, and one per subdirectory holding its jars (sorted, for determinism). */
    private static List<List<Path>> units(Path directory, List<String> problems) {
        List<List<Path>> units = new ArrayList<>();
        if (!Files.isDirectory(directory)) {
            problems.add("plugin directory " + directory + " does not exist or is not a directory");
            return units;
        }
        for (Path entry : list(directory, problems)) {
            if (Files.isDirectory(entry)) {
                List<Path> jars = list(entry, problems).stream().filter(PluginDiscovery::isJar).toList();
                if (jars.isEmpty()) {
                    problems.add(entry + ": plugin subdirectory contains no .jar files");
                } else {
                    units.add(jars);
                }
            } else if (isJar(entry)) {
                units.add(List.of(entry));
            }
        }
        return units;
    }

    private static boolean isJar(Path p) {
        return Files.isRegularFile(p) && p.getFileName().toString().endsWith(".jar");
    }

    private static List<Path> list(Path dir, List<String> problems) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        } catch (IOException e) {
            problems.add(dir + ": cannot list: " + e);
            return List.of();
        }
    }

    /** Instantiates every provider, recording (not throwing) each broken one. */
    private static List<Peft4jPlugin> load(ClassLoader loader, String where, List<String> problems, List<Throwable> causes) {
        List<Peft4jPlugin> out = new ArrayList<>();
        Iterator<Peft4jPlugin> it = ServiceLoader.load(Peft4jPlugin.class, loader).iterator();
        // a broken entry makes next() throw; the iterator then moves on to the next entry
        for (int guard = 0; guard < 1000; guard++) {
            try {
                if (!it.hasNext()) {
                    break;
                }
                out.add(it.next());
            } catch (ServiceConfigurationError | LinkageError | RuntimeException | StackOverflowError e) {
                problems.add(where + ": cannot load its plugin: " + describe(e));
                causes.add(e);
            }
        }
        return out;
    }

    /** Calls everything the registry will call, so that a broken plugin fails here, naming its jar. */
    private static boolean check(Peft4jPlugin plugin, String source, List<String> problems, List<Throwable> causes) {
        String className = plugin.getClass().getName();
        try {
            int version = plugin.spiVersion();
            if (!SpiVersion.isCompatible(version)) {
                problems.add(source + ": plugin " + className + " was built against peft4j SPI version " + version
                        + ", but this peft4j provides SPI version " + SpiVersion.CURRENT + "; rebuild the plugin against peft4j-api "
                        + "with SPI version " + SpiVersion.CURRENT);
                return false;
            }
            String name = plugin.name();
            if (name == null || name.isBlank()) {
                problems.add(source + ": plugin " + className + " has no name()");
                return false;
            }
            for (ComponentKind kind : ComponentKind.values()) {
                List<? extends ComponentFactory<?>> factories = kind.factoriesOf(plugin);
                if (factories == null) {
                    problems.add(source + ": plugin " + className + " returned null for its " + kind.label() + "s");
                    return false;
                }
                for (ComponentFactory<?> f : factories) {
                    if (f == null || !kind.factoryType().isInstance(f)) {
                        problems.add(source + ": plugin " + className + " lists " + f + " among its " + kind.label() + "s");
                        return false;
                    }
                    f.name();
                    f.description();
                }
            }
            return true;
        } catch (LinkageError | RuntimeException | StackOverflowError e) { // found by PluginJarFuzzTest: a name() that recursed escaped discovery
            problems.add(source + ": plugin " + className + " is broken: " + describe(e));
            causes.add(e);
            return false;
        }
    }

    /** The plugin jar's own reference.conf (the platform parent has none, the host's are not visible). */
    private static Config reference(PluginClassLoader loader, Path where, List<String> problems, List<Throwable> causes) {
        try {
            return ConfigFactory.parseResources(loader, "reference.conf");
        } catch (ConfigException e) {
            problems.add(where + ": invalid reference.conf: " + e.getMessage());
            causes.add(e);
            return ConfigFactory.empty();
        }
    }

    /** A plugin jar may declare defaults only for the factories it registers. */
    private static void checkReferenceKeys(Peft4jPlugin plugin, Config reference, Path where, List<String> problems) {
        Set<String> allowed = new LinkedHashSet<>();
        for (ComponentKind kind : ComponentKind.values()) {
            for (ComponentFactory<?> f : kind.factoriesOf(plugin)) {
                allowed.add(kind.defaultsPath(f.name()));
            }
        }
        for (String path : leafParents(reference.root(), "")) {
            if (allowed.stream().noneMatch(a -> path.equals(a) || path.startsWith(a + "."))) {
                problems.add(where + ": reference.conf defines '" + path + "', but a plugin may only define defaults under "
                        + (allowed.isEmpty() ? "the sections of the factories it registers" : String.join(", ", allowed)));
            }
        }
    }

    /** Paths of the top-most values that are not objects, or of objects at depth 3 ({@code peft4j.methods.x}). */
    private static List<String> leafParents(ConfigObject object, String prefix) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, ConfigValue> e : object.entrySet()) {
            String path = prefix.isEmpty() ? com.typesafe.config.ConfigUtil.joinPath(e.getKey()) : prefix + "." + com.typesafe.config.ConfigUtil.joinPath(e.getKey());
            int depth = path.split("\\.").length;
            if (e.getValue().valueType() == ConfigValueType.OBJECT && depth < 3) {
                out.addAll(leafParents((ConfigObject) e.getValue(), path));
            } else {
                out.add(path);
            }
        }
        return out;
    }

    /** The jar or directory a class was loaded from. */
    static String codeSource(Class<?> type) {
        CodeSource cs = type.getProtectionDomain().getCodeSource();
        if (cs == null || cs.getLocation() == null) {
            return "classpath";
        }
        try {
            return Path.of(cs.getLocation().toURI()).toString();
        } catch (Exception e) {
            return cs.getLocation().toString();
        }
    }

    /** "ServiceConfigurationError: … (caused by IllegalStateException: …)" */
    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder(e.getClass().getSimpleName() + ": " + e.getMessage());
        Set<Throwable> seen = new LinkedHashSet<>();
        for (Throwable c = e.getCause(); c != null && seen.add(c); c = c.getCause()) {
            sb.append(" (caused by ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append(')');
        }
        return sb.toString();
    }

    private static void closeQuietly(PluginClassLoader loader) {
        try {
            loader.close();
        } catch (IOException ignored) {
            // nothing to report: the discovery error being thrown is the one that matters
        }
    }
}
