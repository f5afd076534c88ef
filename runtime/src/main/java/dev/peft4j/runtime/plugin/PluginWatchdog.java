package dev.peft4j.runtime.plugin;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Names plugin code that takes long. It never stops it: plugin code runs on the thread that owns the engine, a
 * Java thread cannot be stopped safely, and another thread must not touch the engine or exit the JVM while that
 * one may be inside libtorch (architecture.md, tensor rule 6). So after {@link #warnAfter()} (system property
 * {@code peft4j.plugin.warn-after-ms}, default 60 s) a daemon thread logs which plugin and call it is in, and
 * again at every multiple; the user stops it with a second Ctrl-C.
 */
public final class PluginWatchdog {
    /** How long plugin code runs before it is named (read at each call, so tests can shorten it). */
    public static Duration warnAfter() {
        return Duration.ofMillis(Long.getLong("peft4j.plugin.warn-after-ms", 60_000));
    }

    private static final Logger LOG = LoggerFactory.getLogger(PluginWatchdog.class);
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "peft4j-plugin-watchdog");
        t.setDaemon(true);
        return t;
    });

    private PluginWatchdog() {}

    /** Runs {@code action} on this thread; logs {@code what} while it runs past {@link #warnAfter()}. */
    public static <T> T during(String what, Supplier<T> action) {
        long start = System.nanoTime();
        long every = Math.max(1, warnAfter().toMillis());
        ScheduledFuture<?> warning = TIMER.scheduleAtFixedRate(() -> LOG.warn("{} has been running for {} s; peft4j waits for it"
                + " (plugin code is not cut off); press Ctrl-C twice to exit", what, (System.nanoTime() - start) / 1_000_000_000L), every, every,
                TimeUnit.MILLISECONDS);
        try {
            return action.get();
        } finally {
            warning.cancel(false);
        }
    }
}
