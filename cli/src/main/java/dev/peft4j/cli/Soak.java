package dev.peft4j.cli;

import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code peft4j bench --soak STEPS}: samples the process every {@link #every} training steps: resident set
 * ({@code VmRSS}), live JVM heap (after a full GC, so it is what is reachable, not what awaits collection) and
 * the number of live NDArrays in the engine's whole manager tree (DJL's {@code getManagedArrays()} on the
 * root manager walks every sub-manager). At the end it prints the least-squares slope of RSS, heap and
 * NDArrays per 1,000 steps over the samples after the first (the first sample still holds warm-up growth:
 * allocator pools, AdamW's lazily created state).
 */
final class Soak {
    record Sample(long step, double rssMb, double heapMb, long liveArrays, double msPerStep) {
        String line() {
            return String.format(Locale.ROOT, "soak step=%d rss_mb=%.1f heap_mb=%.1f live_ndarrays=%d ms_per_step=%.1f", step, rssMb, heapMb,
                    liveArrays, msPerStep);
        }
    }

    private final int every;
    private final PrintWriter out;
    private final List<Sample> samples = new ArrayList<>();
    private long lastNanos = System.nanoTime();
    private long lastStep;

    Soak(int every, PrintWriter out) {
        this.every = every;
        this.out = out;
    }

    /** Called after every completed step (1-based); samples every {@code every} steps. */
    void afterStep(long step, NDManager anyManager) {
        if (step % every != 0) {
            return;
        }
        long now = System.nanoTime();
        double ms = (now - lastNanos) / 1e6 / (step - lastStep);
        System.gc();
        Runtime rt = Runtime.getRuntime();
        double heap = (rt.totalMemory() - rt.freeMemory()) / (1024.0 * 1024.0);
        Sample s = new Sample(step, rssKb("VmRSS:") / 1024.0, heap, liveArrays(anyManager), ms);
        samples.add(s);
        out.println(s.line());
        out.flush();
        lastNanos = System.nanoTime();
        lastStep = step;
    }

    List<Sample> samples() {
        return List.copyOf(samples);
    }

    /** {@code soak_slope rss_mb_per_1k_steps=... heap_mb_per_1k_steps=... ndarrays_per_1k_steps=...} over samples 2..n. */
    String summary() {
        List<Sample> fit = samples.size() > 2 ? samples.subList(1, samples.size()) : samples;
        return String.format(Locale.ROOT, "soak_slope samples=%d from_step=%d rss_mb_per_1k_steps=%.2f heap_mb_per_1k_steps=%.3f ndarrays_per_1k_steps=%.2f"
                + " peak_rss_mb=%d", fit.size(), fit.isEmpty() ? 0 : fit.get(0).step(), 1000 * slope(fit, Sample::rssMb),
                1000 * slope(fit, Sample::heapMb), 1000 * slope(fit, s -> s.liveArrays()), BenchCommand.peakRssMb());
    }

    /** Least-squares slope of {@code y} against the step; 0 with fewer than two samples. */
    static double slope(List<Sample> samples, java.util.function.ToDoubleFunction<Sample> y) {
        int n = samples.size();
        if (n < 2) {
            return 0;
        }
        double mx = samples.stream().mapToDouble(Sample::step).average().orElse(0);
        double my = samples.stream().mapToDouble(y).average().orElse(0);
        double num = 0;
        double den = 0;
        for (Sample s : samples) {
            num += (s.step() - mx) * (y.applyAsDouble(s) - my);
            den += (s.step() - mx) * (s.step() - mx);
        }
        return num / den;
    }

    /** Live NDArrays under the root of {@code manager}'s tree (the engine's system manager), sub-managers included. */
    static long liveArrays(NDManager manager) {
        NDManager root = manager;
        while (root.getParentManager() != null) {
            root = root.getParentManager();
        }
        return root.getManagedArrays().size();
    }

    /** A {@code /proc/self/status} field in KiB; -1 where there is no /proc. */
    static long rssKb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
