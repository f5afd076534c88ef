package dev.peft4j.runtime.sweep;

import static java.util.Objects.requireNonNull;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunInterruptedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runs one trial of a sweep as a normal training run ({@code peft4j train EXP.conf <base overrides> <trial overrides>}
 * with {@code run.dir} set to the trial's directory) and records the outcome in that directory's {@code trial.json}.
 * A failure of the run (bad data, a NaN loss, a missing model) is recorded as {@code FAILED} with its message and
 * returned, never thrown; a stop request ({@link RunInterruptedException}) is thrown and nothing is recorded, so that
 * running the trial again resumes it from its checkpoint. Usable by any scheduler: it needs only the experiment file,
 * the overrides and a directory.
 */
public final class SweepTrialRunner {
    /** The record of a finished (or failed) trial, in its run directory. */
    public static final String TRIAL_FILE = "trial.json";

    private SweepTrialRunner() {}

    /**
     * Runs {@code trial} into {@code runDirectory} (resuming a checkpoint there) and writes {@code trial.json}.
     *
     * @param runName the run's {@code run.name}
     * @throws RunInterruptedException when a stop was requested during the run
     */
    public static TrialResult run(Peft4j peft4j, Path experiment, List<String> baseOverrides, SweepPlan.Trial trial, Path runDirectory,
            String runName) {
        requireNonNull(peft4j, "peft4j is null");
        requireNonNull(experiment, "experiment is null");
        requireNonNull(trial, "trial is null");
        requireNonNull(runDirectory, "runDirectory is null");
        long start = System.nanoTime();
        TrialResult result;
        try {
            peft4j.experiment(experiment, arguments(baseOverrides, trial, runDirectory, runName).toArray(String[]::new)).run();
            result = finished(trial, runDirectory, (System.nanoTime() - start) / 1e9);
        } catch (RunInterruptedException e) {
            throw e;
        } catch (RuntimeException e) {
            String message = e.getMessage() == null || e instanceof IllegalStateException || e instanceof NullPointerException
                    ? e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()) : e.getMessage();
            result = new TrialResult(trial, TrialResult.Status.FAILED, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                    (System.nanoTime() - start) / 1e9, Optional.of(message.replace('\n', ' ')), runDirectory);
        }
        record(result);
        return result;
    }

    /** The base overrides, then the trial's, then {@code run.dir} and {@code run.name}: what the trial's run is given. */
    public static List<String> arguments(List<String> baseOverrides, SweepPlan.Trial trial, Path runDirectory, String runName) {
        List<String> args = new ArrayList<>(baseOverrides == null ? List.of() : baseOverrides);
        args.addAll(trial.overrideArguments());
        args.add("run.dir=" + quote(runDirectory.toAbsolutePath().toString()));
        args.add("run.name=" + quote(runName));
        return args;
    }

    /** The trial's {@code trial.json}, if it was recorded for these overrides. */
    public static Optional<TrialResult> recorded(SweepPlan.Trial trial, Path runDirectory) {
        Path file = runDirectory.resolve(TRIAL_FILE);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return TrialResult.fromJson(trial, JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject(),
                    runDirectory);
        } catch (IOException | RuntimeException e) {
            throw new Peft4jException("cannot read " + file + " (" + e.getMessage() + "); delete it to run the trial again", e);
        }
    }

    private static TrialResult finished(SweepPlan.Trial trial, Path runDirectory, double wallSeconds) {
        Path evalJson = runDirectory.resolve("eval.json");
        if (!Files.isRegularFile(evalJson)) { // an adapt-only run (no head or no training data): done, nothing to compare
            return new TrialResult(trial, TrialResult.Status.DONE, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(),
                    wallSeconds, Optional.empty(), runDirectory);
        }
        JsonObject o;
        try {
            o = JsonParser.parseString(Files.readString(evalJson, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new Peft4jException("cannot read " + evalJson + ": " + e.getMessage(), e);
        }
        Optional<String> metric = present(o, "selection_metric").map(JsonElement::getAsString);
        Optional<Double> value = present(o, "best_value").map(JsonElement::getAsDouble);
        Optional<Long> bestStep = present(o, "best_step").map(JsonElement::getAsLong).filter(s -> s >= 0);
        if (value.isEmpty() && metric.isPresent() && o.has("metrics")) { // no evaluation during training: the final one
            value = present(o.getAsJsonObject("metrics"), metric.get()).map(JsonElement::getAsDouble);
        }
        return new TrialResult(trial, TrialResult.Status.DONE, value.isPresent() ? metric : Optional.empty(), value, bestStep,
                present(o, "train_seconds").map(JsonElement::getAsDouble), wallSeconds, Optional.empty(), runDirectory);
    }

    private static Optional<JsonElement> present(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? Optional.empty() : Optional.of(e);
    }

    static void record(TrialResult result) {
        Path file = result.runDirectory().resolve(TRIAL_FILE);
        writeAtomically(file, new GsonBuilder().setPrettyPrinting().create().toJson(result.toJson()) + "\n");
    }

    /** Writes a temporary file beside {@code file}, then renames it over {@code file}. */
    static void writeAtomically(Path file, String text) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp-" + Long.toUnsignedString(System.nanoTime(), 36));
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new Peft4jException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
