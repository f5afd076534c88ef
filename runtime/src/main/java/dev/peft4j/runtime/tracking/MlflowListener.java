package dev.peft4j.runtime.tracking;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.spi.RunListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records a run in MLflow: the run (named {@code run.name}, tagged with method and head), the resolved config as params,
 * each logged training window ({@code train_loss}, {@code train_learning_rate}, ...) and evaluation ({@code eval_<metric>})
 * as metrics at their step, the final metrics under their own names, and the run's report, evaluation, config, metrics log
 * and adapter files as artifacts; the run ends {@code FINISHED}, {@code FAILED} or {@code KILLED}.
 *
 * <p>Never in the way of training: each event only queues a request (a bounded buffer; when it is full, newer requests
 * are dropped and counted) and one daemon thread sends them in order. While the server cannot be reached the thread warns
 * once and retries with a growing pause (up to 30 s); a request the server refuses (4xx) is dropped with a warning. At
 * {@link #close()} the thread gets at most {@code flush-timeout-s} to deliver the rest, and gives up at once, counting what
 * it drops, when the server is still unreachable then: a dead URL adds milliseconds to a run, not the timeout.
 */
final class MlflowListener implements RunListener {
    private static final Logger LOG = LoggerFactory.getLogger(MlflowListener.class);
    /** MLflow's limits per log-batch request (params 100, metrics 1000) and on a param value's length. */
    static final int PARAMS_PER_BATCH = 100;
    static final int METRICS_PER_BATCH = 1000;
    static final int MAX_PARAM_VALUE = 6000;
    static final Duration MAX_PAUSE = Duration.ofSeconds(30);

    /** One queued request; run by the sender thread, which holds the run once created. */
    private interface Request {
        void send(MlflowListener self) throws IOException, InterruptedException;
    }

    private final MlflowConfig config;
    private final MlflowClient client;
    private final LinkedBlockingDeque<Request> queue;
    private final Duration firstPause;
    private final Thread sender;
    private final AtomicBoolean closing = new AtomicBoolean();
    /** Counted down by close(): ends a retry pause at once. */
    private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    private final AtomicBoolean warnedUnreachable = new AtomicBoolean();
    private final AtomicBoolean warnedFull = new AtomicBoolean();
    private final AtomicBoolean warnedArtifacts = new AtomicBoolean();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private volatile MlflowClient.Run run;
    private volatile boolean disabled;
    private String runName;

    MlflowListener(MlflowConfig config) {
        this(config, Duration.ofSeconds(1));
    }

    /** {@code firstPause}: the first retry's pause (doubled each time up to 30 s); tests shorten it. */
    MlflowListener(MlflowConfig config, Duration firstPause) {
        this.config = requireNonNull(config, "config is null");
        this.client = new MlflowClient(config.url(), config.requestTimeout());
        this.queue = new LinkedBlockingDeque<>(config.bufferSize());
        this.firstPause = firstPause;
        this.sender = new Thread(this::sendLoop, "peft4j-mlflow");
        sender.setDaemon(true); // never keeps the JVM alive; it touches no tensors
        sender.start();
    }

    /** Requests sent successfully so far. */
    long sent() {
        return sent.get();
    }

    /** Requests dropped (buffer full, refused by the server, or undelivered at close). */
    long dropped() {
        return dropped.get();
    }

    /** The MLflow run's id, once created. */
    String runId() {
        MlflowClient.Run r = run;
        return r == null ? null : r.id();
    }

    @Override
    public void runStarted(RunInfo info) {
        long start = System.currentTimeMillis();
        runName = config.runName().orElse(info.name());
        List<Map<String, String>> tags = new ArrayList<>();
        tags.add(tag("mlflow.runName", runName));
        tags.add(tag("mlflow.source.name", "peft4j"));
        tags.add(tag("mlflow.source.type", "LOCAL"));
        tags.add(tag("peft4j.method", info.method()));
        tags.add(tag("peft4j.head", info.head()));
        tags.add(tag("peft4j.run_dir", info.directory().toAbsolutePath().toString()));
        String name = runName;
        enqueue(self -> self.run = self.client.createRun(self.client.experimentId(self.config.experiment()), name, start, tags));
    }

    @Override
    public void parameters(Map<String, String> parameters) {
        List<Map<String, String>> all = new ArrayList<>();
        parameters.forEach((k, v) -> all.add(Map.of("key", k.length() > 250 ? k.substring(0, 250) : k,
                "value", v.length() > MAX_PARAM_VALUE ? v.substring(0, MAX_PARAM_VALUE - 3) + "..." : v)));
        for (int i = 0; i < all.size(); i += PARAMS_PER_BATCH) {
            List<Map<String, String>> chunk = List.copyOf(all.subList(i, Math.min(all.size(), i + PARAMS_PER_BATCH)));
            enqueue(self -> self.client.logBatch(self.run.id(), List.of(), chunk));
        }
    }

    @Override
    public void metrics(String phase, long step, Map<String, Double> values) {
        logMetrics(phase + "_", step, values);
    }

    @Override
    public void finalMetrics(Map<String, Double> metrics) {
        logMetrics("", -1, metrics);
    }

    private long lastStep;

    private void logMetrics(String prefix, long step, Map<String, Double> values) {
        long now = System.currentTimeMillis();
        long at = step < 0 ? lastStep : step;
        lastStep = Math.max(lastStep, at);
        List<Map<String, Object>> metrics = new ArrayList<>();
        values.forEach((k, v) -> {
            if (v != null && Double.isFinite(v)) { // JSON has no NaN; MLflow would refuse the batch
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("key", prefix + k);
                m.put("value", v);
                m.put("timestamp", now);
                m.put("step", at);
                metrics.add(m);
            }
        });
        for (int i = 0; i < metrics.size(); i += METRICS_PER_BATCH) {
            List<Map<String, Object>> chunk = List.copyOf(metrics.subList(i, Math.min(metrics.size(), i + METRICS_PER_BATCH)));
            enqueue(self -> self.client.logBatch(self.run.id(), chunk, List.of()));
        }
    }

    @Override
    public void artifact(Path file, String artifactPath) {
        if (!config.artifacts() || !Files.isRegularFile(file)) {
            return;
        }
        enqueue(self -> {
            if (!self.run.artifactUri().startsWith(MlflowClient.ARTIFACT_SCHEME)) {
                if (self.warnedArtifacts.compareAndSet(false, true)) {
                    LOG.warn("MLflow at {} gives runs the artifact location '{}', which it does not proxy: artifacts are not uploaded"
                            + " (start the server with --serve-artifacts, the default of mlflow server, or set tracking.mlflow.artifacts = false)",
                            self.config.url(), self.run.artifactUri());
                }
                return;
            }
            self.client.uploadArtifact(self.run, file, artifactPath);
        });
    }

    @Override
    public void runFinished(Status status) {
        long end = System.currentTimeMillis();
        enqueue(self -> self.client.updateRun(self.run.id(), status.name(), end));
    }

    private void enqueue(Request request) {
        if (disabled || closing.get()) {
            dropped.incrementAndGet();
            return;
        }
        if (!queue.offerLast(request)) {
            dropped.incrementAndGet();
            if (warnedFull.compareAndSet(false, true)) {
                LOG.warn("MLflow at {}: {} requests are waiting (tracking.mlflow.buffer-size); newer ones are dropped until the server answers",
                        config.url(), config.bufferSize());
            }
        }
    }

    private void sendLoop() {
        Duration pause = firstPause;
        while (true) {
            Request next;
            try {
                next = queue.pollFirst(50, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return; // close() timed out; it counts what is left
            }
            if (next == null) {
                if (closing.get() && queue.isEmpty()) {
                    return;
                }
                continue;
            }
            while (true) {
                try {
                    next.send(this);
                    sent.incrementAndGet();
                    if (warnedUnreachable.get() && pause.compareTo(firstPause) > 0) {
                        LOG.info("MLflow at {} answers again; sending the buffered requests", config.url());
                    }
                    pause = firstPause;
                    break;
                } catch (MlflowClient.MlflowException e) {
                    if (!e.permanent()) {
                        // the server answers but is not ready (5xx, 429): worth retrying until close's flush timeout
                        if (!retry(e, pause, true)) {
                            giveUp(next);
                            return;
                        }
                        pause = longer(pause);
                        continue;
                    }
                    dropped.incrementAndGet();
                    if (run == null) { // no run: nothing else can be recorded
                        LOG.warn("MLflow at {} refused to create the run ({}); this run is not tracked", config.url(), e.getMessage());
                        disabled = true;
                        dropped.addAndGet(queue.size());
                        queue.clear();
                    } else {
                        LOG.warn("MLflow at {} refused a request, which is dropped: {}", config.url(), e.getMessage());
                    }
                    break;
                } catch (IOException | RuntimeException e) {
                    if (!retry(e, pause, false)) {
                        giveUp(next);
                        return;
                    }
                    pause = longer(pause);
                } catch (InterruptedException e) {
                    giveUp(next); // only close() interrupts, when its flush timeout has passed
                    return;
                }
            }
        }
    }

    private static Duration longer(Duration pause) {
        Duration twice = pause.multipliedBy(2);
        return twice.compareTo(MAX_PAUSE) > 0 ? MAX_PAUSE : twice;
    }

    /**
     * Warns once, then waits {@code pause} (cut short by close). While closing, a server that cannot be reached ends the
     * sender at once (false); one that answers ({@code answering}: 5xx) is retried every 200 ms until close's timeout.
     */
    private boolean retry(Exception e, Duration pause, boolean answering) {
        if (warnedUnreachable.compareAndSet(false, true)) {
            LOG.warn("MLflow at {} cannot be reached ({}); training goes on, tracking requests are buffered and retried in the background",
                    config.url(), e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
        if (closing.get()) {
            if (!answering) {
                return false;
            }
            try {
                Thread.sleep(Math.min(200, pause.toMillis()));
                return true;
            } catch (InterruptedException interrupted) {
                return false; // close() timed out
            }
        }
        try {
            closed.await(pause.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException interrupted) {
            return false; // close() timed out
        }
        return true;
    }

    private void giveUp(Request current) {
        long lost = 1 + queue.size();
        queue.clear();
        dropped.addAndGet(lost);
        LOG.warn("MLflow at {} still cannot be reached at the end of the run: {} tracking requests were not delivered", config.url(), lost);
    }

    /**
     * Lets the sender deliver what is queued for at most {@code flush-timeout-s}; it stops at once when the server is
     * unreachable. Requests still queued after the timeout are dropped and counted.
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        closed.countDown(); // ends a retry pause: one more try, and the next failure while closing ends the sender
        try {
            sender.join(Math.max(1, config.flushTimeout().toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (sender.isAlive()) {
            long lost = queue.size();
            queue.clear();
            dropped.addAndGet(lost);
            sender.interrupt();
            LOG.warn("MLflow at {}: tracking.mlflow.flush-timeout-s = {} passed with {} requests undelivered; they are dropped", config.url(),
                    config.flushTimeout().toMillis() / 1000.0, lost);
        }
    }

    private static Map<String, String> tag(String key, String value) {
        return Map.of("key", key, "value", value);
    }
}
