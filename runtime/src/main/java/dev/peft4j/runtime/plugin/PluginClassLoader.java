package dev.peft4j.runtime.plugin;

import static java.util.Objects.requireNonNull;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.List;

/**
 * The class loader of one third-party plugin (one jar, or the jars of one subdirectory). Its parent
 * is the platform class loader, so the plugin sees the JDK and its own jars, and nothing of the
 * host's classpath except the {@link #SHARED_PACKAGES}, which it loads from the host so that the SPI
 * types, DJL tensors, Typesafe Config objects and SLF4J loggers are the same classes on both sides.
 * {@code ai.djl.} must be shared: the PyTorch native library can be loaded by only one class loader.
 */
public final class PluginClassLoader extends URLClassLoader {
    /** Package prefixes delegated to the host loader; everything else comes from the plugin's jars. */
    public static final List<String> SHARED_PACKAGES = List.of("dev.peft4j.api.", "ai.djl.", "com.typesafe.config.", "org.slf4j.");

    static {
        registerAsParallelCapable();
    }

    private final ClassLoader host;
    private final String source;

    /**
     * @param source what the plugin is, for messages (the jar or directory path)
     * @param urls the plugin's jars
     * @param host the loader the shared packages come from
     */
    public PluginClassLoader(String source, List<URL> urls, ClassLoader host) {
        super("peft4j-plugin:" + requireNonNull(source, "source is null"), urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        this.host = requireNonNull(host, "host is null");
        this.source = source;
    }

    /** The jar or directory this loader reads, as given. */
    public String source() {
        return source;
    }

    public static boolean isShared(String className) {
        for (String prefix : SHARED_PACKAGES) {
            if (className.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (isShared(name)) {
            return host.loadClass(name);
        }
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                try {
                    // the JDK (platform loader) first, so a plugin cannot shadow java.* or javax.*
                    c = getParent().loadClass(name);
                } catch (ClassNotFoundException notPlatform) {
                    c = findClass(name);
                }
            }
            if (resolve) {
                resolveClass(c);
            }
            return c;
        }
    }

    /**
     * Runs plugin code with {@code loader} as the thread's context class loader (as Trino does), so
     * that libraries inside a plugin that look classes or resources up through the context loader
     * find the plugin's own, not the host's; restores the previous one afterwards.
     */
    public static <T> T withContextLoader(ClassLoader loader, java.util.function.Supplier<T> action) {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
        try {
            return action.get();
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    static PluginClassLoader forPath(Path path, List<Path> jars, ClassLoader host) {
        List<URL> urls = jars.stream().map(PluginClassLoader::url).toList();
        return new PluginClassLoader(path.toString(), urls, host);
    }

    private static URL url(Path jar) {
        try {
            return jar.toUri().toURL();
        } catch (java.net.MalformedURLException e) {
            throw new IllegalArgumentException("not a valid jar path: " + jar, e);
        }
    }

    @Override
    public String toString() {
        return "PluginClassLoader[" + source + "]";
    }
}
