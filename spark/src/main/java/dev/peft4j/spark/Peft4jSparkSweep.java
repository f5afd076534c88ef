package dev.peft4j.spark;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonParser;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.models.Engines;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.sweep.Sweep;
import dev.peft4j.runtime.sweep.SweepPlan;
import dev.peft4j.runtime.sweep.SweepSummary;
import dev.peft4j.runtime.sweep.SweepTrialRunner;
import dev.peft4j.runtime.sweep.TrialResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.sql.SparkSession;

/**
 * {@code peft4j sweep} with each trial a Spark task: the driver validates the sweep and records its plan exactly as
 * {@link Sweep} does ({@link Sweep#prepare()}: every trial's config checked first, {@code sweep.json}, recorded trials
 * skipped), runs each pending trial as one task (one partition per trial) through {@link SweepTrialRunner} (a normal run
 * directory {@code <dir>/trial-NNN} with {@code trial.json}), then reads the trials' records and writes the same
 * {@link SweepSummary} ({@code summary.csv}, {@code summary.md}, {@code sweep.html}).
 *
 * <p>The sweep directory, the experiment file, its data and the model must be at the same paths on the driver and every
 * executor (a shared file system). An executor JVM trains one trial at a time (DJL allows one gradient collector per
 * JVM), so give each executor one task slot ({@code spark.task.cpus = spark.executor.cores}); trials are independent
 * runs, so a lost executor's trial is retried by Spark and resumes from its checkpoint.
 */
public final class Peft4jSparkSweep {
    /** One training at a time in a JVM. */
    private static final Object TRAINING = new Object();

    private Peft4jSparkSweep() {}

    /** Runs the pending trials of {@code plan} on {@code spark}'s executors; returns one result per trial, in plan order. */
    public static List<TrialResult> run(SparkSession spark, Path experiment, List<String> baseOverrides, Path directory, SweepPlan plan) {
        requireNonNull(spark, "spark is null");
        Path exp = requireNonNull(experiment, "experiment is null").toAbsolutePath().normalize();
        Path dir = requireNonNull(directory, "directory is null").toAbsolutePath().normalize();
        List<String> base = List.copyOf(baseOverrides == null ? List.of() : baseOverrides);
        List<TrialResult> results;
        try (Peft4j peft4j = Peft4j.builder().hostClassLoader(Peft4jSparkSweep.class.getClassLoader()).build()) {
            results = new ArrayList<>(new Sweep(peft4j, exp, base, dir, plan).prepare());
        }
        List<Integer> pending = new ArrayList<>();
        for (int i = 0; i < results.size(); i++) {
            if (results.get(i).status() == TrialResult.Status.PENDING) {
                pending.add(i);
            }
        }
        Map<Integer, String> outcomes = new HashMap<>();
        if (!pending.isEmpty()) {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            String name = dir.getFileName().toString();
            List<String> lines = jsc.parallelize(pending, pending.size())
                    .map(new TrialTask(exp.toString(), base, dir.toString(), plan.toJson().toString(), name)).collect();
            for (int k = 0; k < pending.size(); k++) {
                outcomes.put(pending.get(k), lines.get(k));
            }
        }
        for (int i : pending) {
            SweepPlan.Trial trial = plan.trials().get(i);
            Path trialDir = dir.resolve(trial.id());
            Optional<TrialResult> recorded = SweepTrialRunner.recorded(trial, trialDir);
            results.set(i, recorded.orElseGet(() -> new TrialResult(trial, TrialResult.Status.FAILED, Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.empty(), 0, Optional.of("no " + SweepTrialRunner.TRIAL_FILE + " in " + trialDir
                            + " on the driver after the task (" + outcomes.get(i) + "): the sweep directory must be shared by the"
                            + " driver and the executors"), trialDir)));
        }
        SweepSummary.write(dir, results);
        return results;
    }

    /** One trial, in an executor: returns "trial-NNN STATUS on executor E on host H". */
    static final class TrialTask implements Function<Integer, String> {
        private static final long serialVersionUID = 1L;
        private final String experiment;
        private final List<String> baseOverrides;
        private final String directory;
        private final String planJson;
        private final String sweepName;

        TrialTask(String experiment, List<String> baseOverrides, String directory, String planJson, String sweepName) {
            this.experiment = experiment;
            this.baseOverrides = new ArrayList<>(baseOverrides);
            this.directory = directory;
            this.planJson = planJson;
            this.sweepName = sweepName;
        }

        @Override
        public String call(Integer index) {
            SweepPlan plan = SweepPlan.fromJson(JsonParser.parseString(planJson).getAsJsonObject());
            SweepPlan.Trial trial = plan.trials().get(index);
            Path exp = Path.of(experiment);
            if (!Files.isRegularFile(exp) || !Files.isReadable(exp)) {
                throw new Peft4jException("sweep " + trial.id() + ": experiment file " + exp + " is not readable on " + RunCache.executor()
                        + ": the experiment, its data and the sweep directory must be on a file system every executor shares (docs/spark.md)");
            }
            synchronized (TRAINING) {
                Engines.noGradOnThisThread(); // a Spark task thread starts with torch's grad mode on (see Engines)
                try (Peft4j peft4j = Peft4j.builder().hostClassLoader(Peft4jSparkSweep.class.getClassLoader()).build()) {
                    TrialResult r = SweepTrialRunner.run(peft4j, exp, baseOverrides, trial, Path.of(directory).resolve(trial.id()),
                            sweepName + "-" + trial.id());
                    return trial.id() + " " + r.status() + " on " + RunCache.executor();
                }
            }
        }
    }
}
