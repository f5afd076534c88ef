package dev.peft4j.spark;

import dev.peft4j.api.Peft4jException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkEnv;

/**
 * The runs loaded in this JVM (an executor, or the driver in local mode), one per run directory, plugin
 * directory and overrides: the first task that needs a run loads it, every later task and partition of
 * this JVM reuses it. Runs stay loaded until the JVM ends.
 */
final class RunCache {
    record Key(Path runDirectory, Path pluginDirectory, List<String> overrides) {}

    private static final Map<Key, LoadedRun> RUNS = new ConcurrentHashMap<>();
    private static final Map<Path, AtomicInteger> LOADS = new ConcurrentHashMap<>();

    private RunCache() {}

    /** The run, loaded on first use in this JVM; an unreadable run directory is an error naming the path and this executor. */
    static LoadedRun get(String runDirectory, String pluginDirectory, List<String> overrides) {
        Path run = readable(runDirectory, "run directory");
        Path plugins = pluginDirectory == null ? null : readable(pluginDirectory, "plugin directory");
        // computeIfAbsent: two tasks of one executor that start together load the run once
        return RUNS.computeIfAbsent(new Key(run, plugins, List.copyOf(overrides)), k -> {
            LOADS.computeIfAbsent(k.runDirectory(), p -> new AtomicInteger()).incrementAndGet();
            try {
                return LoadedRun.open(k.runDirectory(), k.pluginDirectory(), k.overrides());
            } catch (RuntimeException e) {
                throw new Peft4jException("cannot load run " + k.runDirectory() + " on " + executor() + ": " + e.getMessage(), e);
            }
        });
    }

    /** How many times this JVM has loaded {@code runDirectory} (for tests and logs). */
    static int loads(String runDirectory) {
        Path p = Path.of(runDirectory).toAbsolutePath().normalize();
        try {
            p = p.toRealPath();
        } catch (IOException e) {
            // not readable here: it was never loaded
        }
        AtomicInteger n = LOADS.get(p);
        return n == null ? 0 : n.get();
    }

    /** Closes and forgets every run loaded in this JVM. */
    static synchronized void clear() {
        RUNS.values().forEach(LoadedRun::close);
        RUNS.clear();
        LOADS.clear();
    }

    private static Path readable(String directory, String what) {
        Path p = Path.of(directory).toAbsolutePath().normalize();
        if (!Files.isDirectory(p) || !Files.isReadable(p)) {
            throw new Peft4jException(what + " " + p + " is not a readable directory on " + executor()
                    + (Files.exists(p) ? " (it exists but cannot be read)" : " (it does not exist there)")
                    + ": put it on a path every executor can read, or ship it with spark-submit --files/--archives (docs/spark.md)");
        }
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw new Peft4jException(what + " " + p + " cannot be resolved on " + executor() + ": " + e.getMessage(), e);
        }
    }

    /** "executor 3 on host h" (or "the driver"), for error messages. */
    static String executor() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "unknown host";
        }
        SparkEnv env = SparkEnv.get();
        String id = env == null ? "?" : env.executorId();
        return ("driver".equals(id) ? "the driver (executor driver)" : "executor " + id) + " on host " + host;
    }
}
