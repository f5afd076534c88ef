package dev.peft4j.api.spi;

import java.nio.file.Path;
import java.util.Map;

/**
 * Hears what a training run does, to record it elsewhere (an experiment tracker such as MLflow). Every method is a
 * {@code default} that does nothing, so a listener overrides only what it needs and new events never break it.
 *
 * <p>The host calls a listener on the training thread, in this order: {@link #runStarted}, {@link #parameters}, then
 * {@link #metrics} per logged step and per evaluation, {@link #finalMetrics}, {@link #artifact} per output file,
 * {@link #runFinished}, and {@link #close} last (also after a failure). A listener must return quickly (hand slow work,
 * such as network calls, to its own thread) and must never touch tensors. What it throws is caught by the host, logged
 * once, and never fails the run.
 */
public interface RunListener extends AutoCloseable {
    /** How a run ended. */
    enum Status { FINISHED, FAILED, KILLED }

    /**
     * The run being started.
     *
     * @param name {@code run.name}
     * @param directory the run directory
     * @param method the adapter method's name
     * @param head the head's name, or "-"
     */
    record RunInfo(String name, Path directory, String method, String head) {}

    default void runStarted(RunInfo run) {}

    /** The resolved experiment, flattened to dotted keys ({@code method.r = 8}), values as HOCON renders them. */
    default void parameters(Map<String, String> parameters) {}

    /**
     * Numbers at an optimizer step: {@code phase} is {@code train} (loss, learning rate, ... of a logged window) or
     * {@code eval} (an evaluation's metrics; step 0 for one before training).
     */
    default void metrics(String phase, long step, Map<String, Double> values) {}

    /** The run's final metrics (the final evaluation, trainable parameters, times). */
    default void finalMetrics(Map<String, Double> metrics) {}

    /** A file the run wrote; {@code artifactPath} is its path relative to the run directory, with {@code /} separators. */
    default void artifact(Path file, String artifactPath) {}

    default void runFinished(Status status) {}

    /** Releases what the listener holds; may wait a bounded time to deliver what it buffered. */
    @Override
    default void close() {}
}
