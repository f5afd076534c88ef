package dev.peft4j.runtime.sweep;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What one trial of a sweep gave, as recorded in its run directory's {@code trial.json}.
 *
 * @param trial the trial
 * @param status {@code DONE}, {@code FAILED}, or {@code PENDING} (not run yet, or interrupted: a later sweep resumes it)
 * @param metric the selection metric ({@code eval.json}'s {@code selection_metric}); empty when the run has no evaluation
 * @param value its best value during the run
 * @param bestStep the optimizer step of that value
 * @param trainSeconds training time in {@code eval.json}
 * @param wallSeconds the trial's wall time in the sweep (of its last attempt, when resumed)
 * @param error why a {@code FAILED} trial failed
 * @param runDirectory the trial's run directory
 */
public record TrialResult(SweepPlan.Trial trial, Status status, Optional<String> metric, Optional<Double> value, Optional<Long> bestStep,
        Optional<Double> trainSeconds, double wallSeconds, Optional<String> error, Path runDirectory) {
    /** A trial's state. */
    public enum Status { DONE, FAILED, PENDING }

    public TrialResult {
        requireNonNull(trial, "trial is null");
        requireNonNull(status, "status is null");
        requireNonNull(metric, "metric is null");
        requireNonNull(value, "value is null");
        requireNonNull(bestStep, "bestStep is null");
        requireNonNull(trainSeconds, "trainSeconds is null");
        requireNonNull(error, "error is null");
        requireNonNull(runDirectory, "runDirectory is null");
    }

    static TrialResult pending(SweepPlan.Trial trial, Path runDirectory) {
        return new TrialResult(trial, Status.PENDING, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), 0,
                Optional.empty(), runDirectory);
    }

    JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("id", trial.id());
        JsonObject overrides = new JsonObject();
        trial.overrides().forEach(overrides::addProperty);
        o.add("overrides", overrides);
        o.addProperty("status", status.name());
        metric.ifPresent(m -> o.addProperty("metric", m));
        value.filter(Double::isFinite).ifPresent(v -> o.addProperty("value", v));
        bestStep.ifPresent(s -> o.addProperty("best_step", s));
        trainSeconds.ifPresent(s -> o.addProperty("train_seconds", s));
        o.addProperty("wall_seconds", wallSeconds);
        error.ifPresent(e -> o.addProperty("error", e));
        return o;
    }

    /** Reads a {@code trial.json} written for {@code trial}; empty when it belongs to other overrides. */
    static Optional<TrialResult> fromJson(SweepPlan.Trial trial, JsonObject o, Path runDirectory) {
        JsonObject overrides = o.getAsJsonObject("overrides");
        if (overrides == null || overrides.size() != trial.overrides().size()
                || trial.overrides().entrySet().stream().anyMatch(e -> !overrides.has(e.getKey())
                        || !overrides.get(e.getKey()).getAsString().equals(e.getValue()))) {
            return Optional.empty();
        }
        return Optional.of(new TrialResult(trial, Status.valueOf(o.get("status").getAsString()), string(o, "metric"),
                number(o, "value"), number(o, "best_step").map(Double::longValue), number(o, "train_seconds"),
                number(o, "wall_seconds").orElse(0.0), string(o, "error"), runDirectory));
    }

    private static Optional<String> string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? Optional.empty() : Optional.of(e.getAsString());
    }

    private static Optional<Double> number(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? Optional.empty() : Optional.of(e.getAsDouble());
    }
}
