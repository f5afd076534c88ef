package dev.peft4j.runtime.sweep;

import static java.util.Objects.requireNonNull;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.runtime.Interruption;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunInterruptedException;
import dev.peft4j.runtime.config.ValidatedExperiment;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A sweep run on this machine: the trials of a {@link SweepPlan} one after another, each a normal run directory
 * {@code <dir>/trial-NNN}, with the summary ({@link SweepSummary}) rewritten after every trial.
 *
 * <ul>
 *   <li>Before anything runs: the base experiment is validated, every swept key must exist in its resolved config
 *       (did-you-mean otherwise), and each trial's config is validated with its values.</li>
 *   <li>{@code sweep.json} records the experiment, the base overrides and the plan. Running the same sweep again
 *       skips trials recorded as done or failed and resumes the one that was interrupted from its checkpoint; a
 *       different plan in the same directory is refused.</li>
 *   <li>A trial that fails is recorded with its error and the sweep goes on; a stop request (Ctrl-C) stops the
 *       sweep after writing the summary so far, and is rethrown.</li>
 * </ul>
 */
public final class Sweep {
    /** The plan and what it was made for, in the sweep directory. */
    public static final String PLAN_FILE = "sweep.json";

    private final Peft4j peft4j;
    private final Path experiment;
    private final List<String> baseOverrides;
    private final Path directory;
    private final SweepPlan plan;
    private PrintStream console = System.err;
    private Consumer<TrialResult> afterTrial = r -> {};

    public Sweep(Peft4j peft4j, Path experiment, List<String> baseOverrides, Path directory, SweepPlan plan) {
        this.peft4j = requireNonNull(peft4j, "peft4j is null");
        this.experiment = requireNonNull(experiment, "experiment is null");
        this.baseOverrides = List.copyOf(baseOverrides == null ? List.of() : baseOverrides);
        this.directory = requireNonNull(directory, "directory is null");
        this.plan = requireNonNull(plan, "plan is null");
    }

    /** Where progress lines go (stderr by default). */
    public Sweep console(PrintStream out) {
        this.console = requireNonNull(out, "out is null");
        return this;
    }

    /** Called after each trial that ran in this call (done or failed), after the summary is written. */
    public Sweep afterTrial(Consumer<TrialResult> listener) {
        this.afterTrial = requireNonNull(listener, "listener is null");
        return this;
    }

    /** The directory of a trial's run. */
    public Path trialDirectory(SweepPlan.Trial trial) {
        return directory.resolve(trial.id());
    }

    /**
     * Checks the sweep without running anything: the base experiment, the swept keys and every trial's values.
     *
     * @throws Peft4jException (an {@link InvalidConfigException} naming the trial) on the first bad part
     */
    public void validate() {
        ValidatedExperiment base = peft4j.experiment(experiment, baseOverrides.toArray(String[]::new)).validate();
        plan.checkKeys(base.config());
        for (SweepPlan.Trial trial : plan.trials()) {
            try {
                peft4j.experiment(experiment, SweepTrialRunner.arguments(baseOverrides, trial, trialDirectory(trial), trial.id())
                        .toArray(String[]::new)).validate();
            } catch (InvalidConfigException e) {
                throw new Peft4jException(trial.id() + " (" + trial.describe() + "): " + e.getMessage(), e);
            }
        }
    }

    /**
     * Validates, then runs every trial not yet recorded, and returns one result per trial in plan order.
     *
     * @throws RunInterruptedException when a stop was requested (the summary is written first)
     */
    public List<TrialResult> run() {
        List<TrialResult> results = prepare();
        long skipped = results.stream().filter(r -> r.status() != TrialResult.Status.PENDING).count();
        if (skipped > 0) {
            console.printf(Locale.ROOT, "sweep %s: %d of %d trials already recorded, resuming%n", directory, skipped, results.size());
        }
        String sweepName = directory.toAbsolutePath().normalize().getFileName().toString();
        for (int i = 0; i < results.size(); i++) {
            if (results.get(i).status() != TrialResult.Status.PENDING) {
                continue;
            }
            SweepPlan.Trial trial = plan.trials().get(i);
            try {
                Interruption.throwIfRequested("sweep");
                console.printf(Locale.ROOT, "sweep: %s of %d: %s%n", trial.id(), results.size(), trial.describe());
                TrialResult result = SweepTrialRunner.run(peft4j, experiment, baseOverrides, trial, trialDirectory(trial),
                        sweepName + "-" + trial.id());
                results.set(i, result);
                console.println("sweep: " + trial.id() + " " + describe(result));
                SweepSummary.write(directory, results);
                afterTrial.accept(result);
            } catch (RunInterruptedException e) {
                SweepSummary.write(directory, results);
                throw new RunInterruptedException(e.getMessage() + "; run the same sweep again to resume it (" + trial.id()
                        + " continues from its checkpoint)", e.exitCode());
            }
        }
        SweepSummary.write(directory, results);
        return results;
    }

    /**
     * Validates the sweep, records its plan in {@code sweep.json} (or checks it against the recorded one), and returns
     * one result per trial in plan order: the recorded ones, {@code PENDING} for the rest. What {@link #run()} starts
     * from, and what a scheduler that runs the pending trials elsewhere (dev.peft4j.spark.Peft4jSparkSweep: each trial a
     * Spark task, through {@link SweepTrialRunner}) starts from before writing the same {@link SweepSummary}.
     */
    public List<TrialResult> prepare() {
        validate();
        checkOrWritePlan();
        List<TrialResult> results = new ArrayList<>();
        for (SweepPlan.Trial trial : plan.trials()) {
            results.add(SweepTrialRunner.recorded(trial, trialDirectory(trial)).orElse(TrialResult.pending(trial, trialDirectory(trial))));
        }
        return results;
    }

    /** The plan. */
    public SweepPlan plan() {
        return plan;
    }

    static String describe(TrialResult r) {
        return switch (r.status()) {
            case DONE -> r.value().map(v -> String.format(Locale.ROOT, "%s=%.4f (best step %s)", r.metric().orElse("?"), v,
                    r.bestStep().map(String::valueOf).orElse("-"))).orElse("done (no evaluation)");
            case FAILED -> "FAILED: " + r.error().orElse("?");
            case PENDING -> "pending";
        };
    }

    private void checkOrWritePlan() {
        Path file = directory.resolve(PLAN_FILE);
        JsonObject json = plan.toJson();
        json.addProperty("experiment", experiment.toAbsolutePath().normalize().toString());
        JsonArray base = new JsonArray();
        baseOverrides.forEach(base::add);
        json.add("base_overrides", base);
        if (Files.isRegularFile(file)) {
            JsonObject before;
            try {
                before = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
            } catch (IOException | RuntimeException e) {
                throw new Peft4jException("cannot read " + file + ": " + e.getMessage(), e);
            }
            Optional<String> difference = difference(before, json);
            if (difference.isPresent()) {
                throw new Peft4jException(directory + " holds another sweep (" + difference.get()
                        + "); run the same sweep to resume it, or give another --dir");
            }
            return;
        }
        SweepTrialRunner.writeAtomically(file, new GsonBuilder().setPrettyPrinting().create().toJson(json) + "\n");
    }

    private static Optional<String> difference(JsonObject before, JsonObject now) {
        if (!before.get("experiment").equals(now.get("experiment"))) {
            return Optional.of("experiment " + before.get("experiment").getAsString() + ", now " + now.get("experiment").getAsString());
        }
        if (!before.get("base_overrides").equals(now.get("base_overrides"))) {
            return Optional.of("overrides " + before.get("base_overrides") + ", now " + now.get("base_overrides"));
        }
        if (!before.get("trials").equals(now.get("trials"))) {
            SweepPlan a = SweepPlan.fromJson(before);
            SweepPlan b = SweepPlan.fromJson(now);
            return Optional.of(a.trials().size() + " trials over " + a.keys() + ", now " + b.trials().size() + " over " + b.keys()
                    + (a.trials().size() == b.trials().size() ? " with other values" : ""));
        }
        return Optional.empty();
    }
}
