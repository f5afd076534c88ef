package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import com.google.inject.Inject;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.runtime.AdaptOnlyRunner;
import dev.peft4j.runtime.ExperimentRunner;
import dev.peft4j.runtime.Interruption;
import dev.peft4j.runtime.RunInterruptedException;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.RunResult;
import dev.peft4j.runtime.config.TeacherSettings;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.plugin.PluginContexts;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The training runner bound for {@code peft4j train}: builds the task (model, head, method, data),
 * trains, and writes the run's outputs: {@code metrics.jsonl}, {@code eval.json}, {@code labels.json},
 * the trained tensors ({@code model/trainable.safetensors}, what eval and predict load), the
 * adaptation in its own format ({@code adapter/}, PEFT's for LoRA) and {@code report.html}.
 */
public final class TrainingRunner implements ExperimentRunner {
    public static final String TRAINED_FILE = "model/trainable.safetensors";
    /**
     * Written last, when every output is in place ({@code eval.json}, the trained tensors, {@code adapter/},
     * {@code report.html}); removed when training starts. A run directory without it was stopped (killed, disk full)
     * before it finished, and eval and predict say so.
     */
    public static final String COMPLETE_MARKER = "run-complete.json";

    private final ModelLoader modelLoader;
    private final PluginContexts contexts;
    private final TensorFiles files;
    private final AdaptOnlyRunner adaptOnly;
    private PrintStream console = System.err;

    private final TeacherLoader teacherLoader;

    @Inject
    public TrainingRunner(ModelLoader modelLoader, PluginContexts contexts, TensorFiles files, TeacherLoader teacherLoader) {
        this.teacherLoader = requireNonNull(teacherLoader, "teacherLoader is null");
        this.modelLoader = requireNonNull(modelLoader, "modelLoader is null");
        this.contexts = requireNonNull(contexts, "contexts is null");
        this.files = requireNonNull(files, "files is null");
        this.adaptOnly = new AdaptOnlyRunner(modelLoader, contexts);
    }

    /** Where progress and the final lines go (stderr by default). */
    public TrainingRunner console(PrintStream out) {
        this.console = requireNonNull(out, "out is null");
        return this;
    }

    /**
     * Trains; an experiment without a head or without {@code data.train.path} has nothing to train on,
     * so it runs as {@link AdaptOnlyRunner} (a dry run: what would train, in {@code summary.txt}).
     */
    @Override
    public RunResult run(ValidatedExperiment experiment, Path runDirectory) {
        if (experiment.head().isEmpty() || !experiment.datasets().containsKey("train")) {
            console.println("no " + (experiment.head().isEmpty() ? "head" : "data.train.path")
                    + ": nothing to train on; adapting only and writing summary.txt");
            return adaptOnly.run(experiment, runDirectory);
        }
        long start = System.nanoTime();
        TrainConfig config = experiment.settings(TrainConfig.class);
        dev.peft4j.runtime.tracking.RunListeners listeners = listeners(experiment, runDirectory, config.seed());
        dev.peft4j.api.spi.RunListener.Status status = dev.peft4j.api.spi.RunListener.Status.FAILED;
        try {
            listeners.runStarted(new dev.peft4j.api.spi.RunListener.RunInfo(experiment.run().name(), runDirectory, experiment.method().name(),
                    experiment.head().map(h -> h.name()).orElse("-")));
            listeners.parameters(dev.peft4j.runtime.tracking.RunListeners.flatten(experiment.config()));
            RunResult result = train(experiment, runDirectory, config, start, listeners);
            status = dev.peft4j.api.spi.RunListener.Status.FINISHED;
            return result;
        } catch (RunInterruptedException e) {
            status = dev.peft4j.api.spi.RunListener.Status.KILLED;
            throw e;
        } finally {
            listeners.runFinished(status);
            listeners.close();
        }
    }

    /**
     * The experiment's {@code tracking} listeners, created with a context that has the run directory and seed but no model
     * (they start before it loads, so that a failed setup is recorded too).
     */
    private dev.peft4j.runtime.tracking.RunListeners listeners(ValidatedExperiment experiment, Path runDirectory, long seed) {
        Map<String, dev.peft4j.api.spi.RunListener> out = new LinkedHashMap<>();
        for (dev.peft4j.runtime.config.ConfiguredComponent c : experiment.listeners()) {
            dev.peft4j.api.spi.PluginContext context = contexts.forPlugin(contexts.create(null, null, ai.djl.Device.cpu(), runDirectory, seed),
                    c.registration().plugin());
            out.put(c.name(), c.createRunListener(context));
        }
        return new dev.peft4j.runtime.tracking.RunListeners(out);
    }

    private RunResult train(ValidatedExperiment experiment, Path runDirectory, TrainConfig config, long start,
            dev.peft4j.runtime.tracking.RunListeners listeners) {
        try {
            // from now until the marker is written again, the directory is a run in progress
            Files.deleteIfExists(runDirectory.resolve(COMPLETE_MARKER));
        } catch (IOException e) {
            throw new Peft4jException("cannot remove " + runDirectory.resolve(COMPLETE_MARKER) + ": " + e.getMessage(), e);
        }
        // the teacher is loaded (and checked against the data) before the student trains; the setup owns it
        Teacher teacher = teacherLoader.load(experiment).orElse(null);
        try (TaskSetup setup = TaskSetup.build(experiment, modelLoader, contexts, runDirectory, Optional.empty(), true, true, teacher)) {
            double setupSeconds = (System.nanoTime() - start) / 1e9;
            setup.writeLabels(runDirectory);
            java.util.Optional<Path> initFrom = experiment.settings(dev.peft4j.runtime.config.MethodSettings.class).initFrom();
            if (initFrom.isPresent()) { // a checkpoint of this run, if any, replaces it when the trainer resumes
                InitFrom.apply(experiment, setup.adaptation(), initFrom.get(), files);
                console.println("method " + experiment.method().name() + " starts from the adapter in " + initFrom.get());
            }
            TaskModel model = setup.taskModel();
            TeacherSettings teacherSettings = experiment.settings(TeacherSettings.class);
            if (teacherSettings.cache() && setup.teacher().isPresent() && model.objectives().needsTeacher()) {
                long c0 = System.nanoTime();
                Path file = teacherSettings.cacheFile().orElse(runDirectory.resolve(TeacherCache.FILE));
                TeacherCache cache = TeacherCache.openOrBuild(file, setup.teacher().get(), setup.teacher().get().data(setup.train()), config.evalBatchSize(),
                        setup.teacher().get().padId(setup.padId()), teacherSettings.cacheTopK(),
                        files, console);
                model.setObjectives(model.objectives().withCache(cache));
                console.printf(Locale.ROOT, "teacher cache ready in %.1f s%n", (System.nanoTime() - c0) / 1e9);
            }
            long trainable = model.root().trainableParameterCount();
            long total = model.root().parameterCount();
            console.printf(Locale.ROOT, "%s + %s: trainable params %,d of %,d (%.4f%%); %d training and %d evaluation examples%n",
                    experiment.method().name(), experiment.head().map(h -> h.name()).orElse("-"), trainable, total, 100.0 * trainable / total,
                    setup.train().size(), setup.eval().map(d -> d.size()).orElse(0));
            labelCounts(setup).ifPresent(console::println);
            List<String> skippedRows = new java.util.ArrayList<>();
            setup.badRows().forEach((split, rows) -> {
                String line = dev.peft4j.runtime.data.BadRows.describe(split, rows);
                if (line != null) {
                    skippedRows.add(line);
                    console.println(line);
                }
            });
            Trainer trainer = new Trainer(model, config, setup.train(), setup.eval().orElse(null), setup.padId(), runDirectory, files, console)
                    .badRows(dev.peft4j.runtime.data.BadRows.toJson(setup.badRows())).listeners(listeners);
            Trainer.Result result = trainer.train();
            if (result.interrupted()) {
                throw new RunInterruptedException("training interrupted by SIG" + Interruption.signal().orElse("?") + " after step "
                        + result.state().step() + " of " + result.totalSteps() + (trainer.checkpointer().exists("last")
                                ? "; run the same command again to resume from " + trainer.checkpointer().path("last")
                                : "; no checkpoint was written, so a new run starts from step 0"),
                        Interruption.exitCode());
            }

            // the adapter first, into a temporary directory renamed into place; the trained tensors last: eval and predict take
            // a run as finished only when TRAINED_FILE exists, so a failure (disk full) in between never leaves a run that looks done
            Path adapter = runDirectory.resolve("adapter");
            Path adapterTemp = runDirectory.resolve(".adapter.tmp");
            Checkpointer.deleteTree(adapterTemp);
            boolean adapterWritten = false;
            try {
                setup.adaptation().save(adapterTemp, files);
                adapterWritten = true;
            } catch (UnsupportedOperationException e) {
                console.println("note: method " + experiment.method().name() + " has no file format of its own (" + e.getMessage()
                        + "); " + TRAINED_FILE + " holds the trained tensors");
            } finally {
                if (!adapterWritten) {
                    Checkpointer.deleteTree(adapterTemp);
                }
            }
            if (adapterWritten) {
                Checkpointer.deleteTree(adapter);
                Files.move(adapterTemp, adapter, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
            Path trained = runDirectory.resolve(TRAINED_FILE);
            Files.createDirectories(trained.getParent());
            files.write(trained, Trainer.values(model.trainableParameters()), Map.of("format", "pt", "peft4j.method", experiment.method().name()));

            double totalSeconds = (System.nanoTime() - start) / 1e9;
            Map<String, String> timings = new LinkedHashMap<>();
            timings.put("setup (load model, read and tokenise data)", seconds(setupSeconds));
            double stepSeconds = result.trainSeconds() - result.evalSeconds();
            timings.put("training (incl. evaluations)", seconds(result.trainSeconds()));
            timings.put("evaluations during training", seconds(result.evalSeconds()));
            timings.put("optimizer steps", String.valueOf(result.state().step()));
            timings.put("ms per step (without evaluations)", String.format(Locale.ROOT, "%.0f", 1000 * stepSeconds / Math.max(1, result.state().step())));
            timings.put("training examples per second", String.format(Locale.ROOT, "%.1f",
                    result.state().examplesSeen() / Math.max(1e-9, stepSeconds)));
            timings.put("total", seconds(totalSeconds));
            String metric = config.metric().isEmpty() ? Evaluator.defaultMetric(setup.kind()) : config.metric();
            Path report = RunReport.write(runDirectory, new RunReport.Summary(experiment.run().name(), experiment.method().name(),
                    experiment.head().map(h -> h.name()).orElse("-"), trainable, total, result.metrics(), metric, timings,
                    readResolved(runDirectory), skippedRows));
            if (!result.metrics().isEmpty()) {
                Double before = result.initialMetrics().get(metric);
                if (before != null) {
                    console.printf(Locale.ROOT, "held-out %s: %.4f before training -> %.4f after (%d examples)%n", metric, before,
                            result.metrics().get(metric), setup.eval().get().size());
                } else {
                    console.printf(Locale.ROOT, "held-out %s: %.4f (%d examples)%n", metric, result.metrics().get(metric), setup.eval().get().size());
                }
            }
            writeCompleteMarker(runDirectory, result.state().step());
            console.println("report: " + report.toAbsolutePath());
            Map<String, Double> metrics = new LinkedHashMap<>(result.metrics());
            if (setup.teacher().isPresent() && setup.eval().isPresent()) {
                metrics.putAll(compareWithTeacher(setup, config, metric, result.metrics()));
            }
            metrics.put("trainable_parameters", (double) trainable);
            metrics.put("total_parameters", (double) total);
            metrics.put("train_seconds", result.trainSeconds());
            result.initialMetrics().forEach((k, v) -> metrics.put("initial_" + k, v));
            listeners.finalMetrics(metrics);
            for (String artifact : List.of("report.html", "eval.json", "resolved.conf", "metrics.jsonl", TaskSetup.LABELS_FILE, "adapter")) {
                listeners.artifacts(runDirectory, artifact);
            }
            return new RunResult(runDirectory, metrics);
        } catch (IOException e) {
            throw new Peft4jException("cannot write the run's outputs into " + runDirectory + ": " + e.getMessage(), e);
        }
    }

    /** Writes {@link #COMPLETE_MARKER} atomically: the last file of a finished run directory (also of one written by merge). */
    public static void writeCompleteMarker(Path runDirectory, long steps) throws IOException {
        Path temp = runDirectory.resolve("." + COMPLETE_MARKER + ".tmp");
        Files.writeString(temp, "{\"steps\": " + steps + ", \"finished\": \"" + java.time.Instant.now() + "\"}\n", StandardCharsets.UTF_8);
        Files.move(temp, runDirectory.resolve(COMPLETE_MARKER), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Refuses a run directory that is not a finished run, saying what it is instead: a run stopped during training
     * (with or without a checkpoint to resume from), or one stopped while writing its outputs. Runs written before the
     * marker existed (trained tensors and {@code report.html}, no marker) are accepted.
     */
    public static void requireFinished(Path runDirectory) {
        if (!Files.isDirectory(runDirectory)) {
            throw new Peft4jException(runDirectory + " is not a run directory (it does not exist)");
        }
        if (Files.isRegularFile(runDirectory.resolve(COMPLETE_MARKER))) {
            return;
        }
        boolean trained = Files.isRegularFile(runDirectory.resolve(TRAINED_FILE));
        if (trained && Files.isRegularFile(runDirectory.resolve("report.html"))) {
            return; // finished before the marker was introduced
        }
        Path last = runDirectory.resolve("checkpoints").resolve("last");
        String checkpoint = Files.isDirectory(last) ? "; its last checkpoint is " + last + ": run peft4j train with the same config to resume"
                + " and finish it" : "; it has no checkpoint, so peft4j train with the same config starts it again";
        if (trained) {
            throw new Peft4jException(runDirectory + " is not a finished run: it was stopped while writing its outputs (no " + COMPLETE_MARKER
                    + ", which is written last)" + checkpoint);
        }
        throw new Peft4jException(runDirectory + " is not a finished run: training was stopped before the end (no " + TRAINED_FILE + ", no "
                + COMPLETE_MARKER + ")" + checkpoint);
    }

    /** {@code training labels: neg 3,310, pos 3,690} for single-label classification, so a stray spelling shows at once. */
    static Optional<String> labelCounts(TaskSetup setup) {
        if (setup.kind() != dev.peft4j.runtime.data.TaskKind.CLASSIFICATION || setup.vocabulary() == null || setup.train() == null) {
            return Optional.empty();
        }
        long[] counts = new long[setup.vocabulary().size()];
        setup.train().encoded().forEach(e -> counts[e.classId()]++);
        StringBuilder sb = new StringBuilder("training labels:");
        for (int i = 0; i < counts.length; i++) {
            sb.append(i == 0 ? " " : ", ").append(setup.vocabulary().label(i)).append(' ').append(String.format(Locale.ROOT, "%,d", counts[i]));
        }
        return Optional.of(sb.toString());
    }

    /**
     * The teacher's metrics on the same evaluation data ({@code teacher_<metric>}), and the student's mean
     * KL to the teacher there ({@code kl_to_teacher}), printed beside the student's.
     */
    private Map<String, Double> compareWithTeacher(TaskSetup setup, TrainConfig config, String metric, Map<String, Double> studentMetrics) {
        Teacher teacher = setup.teacher().orElseThrow();
        Map<String, Double> out = new LinkedHashMap<>();
        teacher.taskModel().ifPresent(t -> {
            Map<String, Double> teacherMetrics = Evaluator.evaluate(t, teacher.data(setup.eval().get()), config.evalBatchSize(), teacher.padId(setup.padId())).metrics();
            teacherMetrics.forEach((k, v) -> out.put("teacher_" + k, v));
            Double mine = studentMetrics.get(metric);
            Double theirs = teacherMetrics.get(metric);
            if (mine != null && theirs != null) {
                console.printf(Locale.ROOT, "teacher (%s) %s: %.4f; student %.4f (%.1f%% of the teacher's)%n", teacher.source(), metric, theirs, mine,
                        100 * mine / theirs);
            }
        });
        TeacherComparison.klToTeacher(setup.taskModel(), teacher, setup.eval().get(), config.evalBatchSize(), setup.padId()).ifPresent(kl -> {
            out.put("kl_to_teacher", kl);
            console.printf(Locale.ROOT, "student's mean KL to the teacher on the evaluation data: %.5f%n", kl);
        });
        return out;
    }

    static String readResolved(Path runDirectory) {
        try {
            Path f = runDirectory.resolve("resolved.conf");
            return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(cannot read resolved.conf: " + e.getMessage() + ")";
        }
    }

    static String seconds(double s) {
        return s < 120 ? String.format(Locale.ROOT, "%.1f s", s) : String.format(Locale.ROOT, "%.1f min", s / 60);
    }

    /** Builds the run's task again and loads its trained tensors (for eval and predict). */
    public static TaskSetup restore(ValidatedExperiment experiment, ModelLoader loader, PluginContexts contexts, TensorFiles files,
            Path runDirectory, boolean readEval) {
        requireFinished(runDirectory);
        Path trained = runDirectory.resolve(TRAINED_FILE);
        TaskSetup setup = TaskSetup.build(experiment, loader, contexts, runDirectory, TaskSetup.readLabels(runDirectory), false, readEval);
        try (ai.djl.ndarray.NDManager temp = setup.backbone().manager().newSubManager()) {
            Trainer.copyInto(setup.taskModel().trainableParameters(), files.read(trained, temp), trained.toString());
        } catch (RuntimeException e) {
            setup.close();
            throw e;
        }
        return setup;
    }

}
