package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.google.gson.GsonBuilder;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.runtime.Interruption;
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.Batcher;
import dev.peft4j.runtime.data.TokenizedDataset;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training loop. Per optimizer update: up to {@code gradient-accumulation} micro-batches, each in
 * its own sub-manager (so memory stays flat) with one gradient collector, backward on the loss divided
 * by the micro-batch count; then global-norm clipping, the scheduled learning rate, and an in-place
 * AdamW update that zeroes the gradients. Evaluation every N updates or each epoch; the best checkpoint
 * by the chosen metric, the last one at each evaluation; early stopping after {@code patience}
 * evaluations without improvement. Dropout is reseeded for every micro-batch from (seed, position),
 * and an epoch's batch order depends only on (seed, epoch), so a resumed run is exactly the run that
 * was never stopped.
 */
public final class Trainer {
    /**
     * What a run ended with. {@code interrupted} is true when the run stopped before its end without a final evaluation:
     * {@link #train(long)} reaching its step, or a stop requested through {@link Interruption} (then the last checkpoint
     * holds the last completed step, when checkpoints are on).
     */
    public record Result(Map<String, Double> metrics, TrainState state, boolean stoppedEarly, boolean interrupted, long totalSteps,
            double trainSeconds, double evalSeconds, Map<String, Double> initialMetrics) {}

    private static final boolean PROFILE = Boolean.getBoolean("peft4j.profile");

    private final TaskModel model;
    private final TrainConfig config;
    private final TokenizedDataset train;
    private final TokenizedDataset eval;
    private final long padId;
    private final Path runDirectory;
    private final Checkpointer checkpointer;
    private final MetricsLog log;
    private final PrintStream console;
    private Map<String, Object> badRows = Map.of();

    public Trainer(TaskModel model, TrainConfig config, TokenizedDataset train, TokenizedDataset eval, long padId, Path runDirectory,
            TensorFiles files, PrintStream console) {
        this.model = requireNonNull(model, "model is null");
        this.config = requireNonNull(config, "config is null");
        this.train = requireNonNull(train, "train is null");
        this.eval = eval;
        this.padId = padId;
        this.runDirectory = requireNonNull(runDirectory, "runDirectory is null");
        this.checkpointer = new Checkpointer(runDirectory.resolve("checkpoints"), requireNonNull(files, "files is null"));
        this.log = new MetricsLog(runDirectory.resolve("metrics.jsonl"));
        this.console = console == null ? System.err : console;
    }

    private dev.peft4j.runtime.tracking.RunListeners listeners = dev.peft4j.runtime.tracking.RunListeners.NONE;

    public Checkpointer checkpointer() {
        return checkpointer;
    }

    /** Who hears each logged training window and each evaluation (experiment tracking); none by default. */
    public Trainer listeners(dev.peft4j.runtime.tracking.RunListeners listeners) {
        this.listeners = requireNonNull(listeners, "listeners is null");
        return this;
    }

    public Result train() {
        return train(Long.MAX_VALUE);
    }

    /** What the run's config fixes before the first step. */
    private record Plan(String metric, boolean lower, Batcher batcher, int batchesPerEpoch, int accumulation, long total,
            LearningRateSchedule schedule, long updatesPerEpoch) {}

    /** One optimizer update's numbers. */
    private record Update(double loss, double learningRate, double gradNorm) {}

    /** The loop's mutable position and counters; {@link TrainState} is its saved form. */
    private static final class Loop {
        long step;
        int epoch;
        int batchInEpoch;
        double best;
        long bestStep;
        int bad;
        long examples;
        double windowLoss;
        int windowCount;
        double windowForward;
        double windowOptimizer;
        double evalSeconds;
        Map<String, Double> lastEval = Map.of();
        TrainState state;
        private final double elapsedBefore;
        private final long started = System.nanoTime();

        Loop(TrainState start) {
            step = start.step();
            epoch = start.epoch();
            batchInEpoch = start.batchInEpoch();
            best = start.bestValue();
            bestStep = start.bestStep();
            bad = start.evalsWithoutImprovement();
            examples = start.examplesSeen();
            windowLoss = start.windowLoss();
            windowCount = start.windowCount();
            elapsedBefore = start.elapsedSeconds();
            state = start;
        }

        double elapsed() {
            return elapsedBefore + (System.nanoTime() - started) / 1e9;
        }

        TrainState snapshot(int atEpoch, int atBatch, double elapsed) {
            return new TrainState(step, atEpoch, atBatch, best, bestStep, bad, elapsed, examples, windowLoss, windowCount);
        }
    }

    /** Trains; stops like a killed process (no final evaluation or outputs) after update {@code stopAfter}. */
    public Result train(long stopAfter) {
        Map<String, Parameter> params = model.trainableParameters();
        if (params.isEmpty()) {
            throw new Peft4jException("nothing to train: no parameter of the task model is trainable (check the method config)");
        }
        Plan plan = plan();
        ParameterGroups groups = ParameterGroups.resolve(params, model.parameterSchedule(), plan.total(), plan.updatesPerEpoch());
        try (AdamW adam = new AdamW(params, model.backbone().manager(), config.beta1(), config.beta2(), config.epsilon(), config.weightDecay())) {
            adam.setLearningRateScales(groups.scales());
            if (!groups.trivial()) {
                console.println("parameter groups (train.learning-rate " + config.learningRate() + ", before the schedule's warm-up and decay):");
                groups.summary(config.learningRate()).forEach(console::println);
            }
            this.groups = groups;
            return train(stopAfter, params, plan, adam);
        } finally {
            groups.activateAll();
            this.groups = null;
        }
    }

    /** The parameter groups of the run in progress (null outside {@link #train}). */
    private ParameterGroups groups;

    private Result train(long stopAfter, Map<String, Parameter> params, Plan plan, AdamW adam) {
        {
            TrainState start = startOrResume(params, adam, plan);
            Map<String, Double> initialMetrics = evaluateAtStart(start);
            Progress progress = new Progress(console, plan.total());
            Loop loop = new Loop(start);
            boolean stoppedEarly = false;

            // one iteration per optimizer update
            outer:
            while (loop.epoch < config.epochs() && loop.step < plan.total()) {
                List<Batch> batches = plan.batcher().trainingEpoch(config.seed(), loop.epoch);
                while (loop.batchInEpoch < batches.size() && loop.step < plan.total()) {
                    Update update = Interruption.requested() ? null : optimizerStep(plan, adam, batches, loop);
                    if (update == null) { // a stop was requested (Ctrl-C, SIGTERM): end here, resumable
                        return stopOnRequest(params, adam, progress, loop, plan, initialMetrics);
                    }
                    double elapsed = loop.elapsed();
                    boolean logNow = logUpdate(plan, loop, update, elapsed);
                    progress.update(loop.step, loop.epoch, update.loss(), loop.examples / Math.max(1e-9, elapsed), elapsed, logNow);

                    boolean epochEnd = loop.batchInEpoch >= batches.size();
                    if (evaluationDue(plan, loop.step, epochEnd) && evaluateAndCheckpoint(plan, params, adam, loop, progress, epochEnd, elapsed)) {
                        stoppedEarly = true;
                        loop.state = loop.snapshot(loop.epoch, loop.batchInEpoch, elapsed);
                        break outer;
                    }
                    loop.state = loop.snapshot(loop.epoch, loop.batchInEpoch, elapsed);
                    if (loop.step >= stopAfter) {
                        progress.finish();
                        return new Result(loop.lastEval, loop.state, false, true, plan.total(), elapsed, loop.evalSeconds, initialMetrics);
                    }
                }
                loop.epoch++;
                loop.batchInEpoch = 0;
            }
            progress.finish();
            return finish(plan, params, loop, stoppedEarly, initialMetrics);
        }
    }

    private Plan plan() {
        String metric = config.metric().isEmpty() ? Evaluator.defaultMetric(train.kind()) : config.metric();
        Batcher batcher = new Batcher(train, config.batchSize(), config.bucketBatches(), padId);
        int batchesPerEpoch = batcher.batchesPerEpoch();
        int accumulation = config.gradientAccumulation();
        long updatesPerEpoch = (batchesPerEpoch + accumulation - 1) / accumulation;
        long total = config.epochs() * updatesPerEpoch;
        if (config.maxSteps() > 0) {
            total = Math.min(total, config.maxSteps());
        }
        long warmup = config.warmupSteps() > 0 ? config.warmupSteps() : (long) Math.ceil(config.warmupRatio() * total);
        LearningRateSchedule schedule = new LearningRateSchedule(config.schedule(), config.learningRate(), warmup, total);
        return new Plan(metric, Evaluator.lowerIsBetter(metric), batcher, batchesPerEpoch, accumulation, total, schedule, updatesPerEpoch);
    }

    /** The last checkpoint's state (weights and optimizer restored, later log lines dropped), or a fresh start. */
    private TrainState startOrResume(Map<String, Parameter> params, AdamW adam, Plan plan) {
        if (checkpointer.exists("last")) {
            TrainState state = resume(params, adam, plan);
            log.truncateAfter(state.step());
            console.println("resuming from " + checkpointer.path("last") + " at step " + state.step() + " of " + plan.total());
            return state;
        }
        if (Files.exists(log.file())) {
            log.truncateAfter(-1);
        }
        return TrainState.start(plan.lower());
    }

    /** {@code train.eval-at-start}: the step-0 evaluation of a fresh run, logged; empty otherwise. */
    private Map<String, Double> evaluateAtStart(TrainState start) {
        if (!config.evalAtStart() || eval == null || start.step() != 0) {
            return Map.of();
        }
        long e0 = System.nanoTime();
        Map<String, Double> metrics = Interruption.deferring(() -> Evaluator.evaluate(model, eval, config.evalBatchSize(), padId).metrics());
        Map<String, Object> line = new LinkedHashMap<>(metrics);
        line.put("eval_s", (System.nanoTime() - e0) / 1e9);
        log.append("eval", 0, 0, line);
        listeners.metrics("eval", 0, line);
        console.println(String.format(java.util.Locale.ROOT, "eval step 0 (before training): %s", format(metrics)));
        return metrics;
    }

    /**
     * One optimizer update: the next {@code gradient-accumulation} micro-batches (dropout reseeded from
     * their position), gradient clipping, the scheduled learning rate, AdamW. Advances the loop. Returns null, having
     * changed nothing, when a stop is requested between micro-batches.
     */
    private Update optimizerStep(Plan plan, AdamW adam, List<Batch> batches, Loop loop) {
        if (groups.apply(loop.step, adam) && loop.step > 0 && !groups.trivial()) {
            progress("update " + (loop.step + 1) + ": " + groups.activeAt(loop.step).size() + " of " + params(groups) + " parameter tensors train");
        }
        int end = Math.min(loop.batchInEpoch + plan.accumulation(), batches.size());
        int micro = end - loop.batchInEpoch;
        double lossSum = 0;
        long t0 = System.nanoTime();
        for (int j = loop.batchInEpoch; j < end; j++) {
            if (j > loop.batchInEpoch && Interruption.requested()) {
                adam.zeroGradients(); // drop the half-accumulated update: the checkpoint holds the last complete step
                return null;
            }
            long position = (long) loop.epoch * plan.batchesPerEpoch() + j;
            Engine.getInstance().setRandomSeed((int) (config.seed() * 1_000_003L + position));
            double loss = microStep(batches.get(j), micro);
            if (!Double.isFinite(loss)) {
                adam.zeroGradients();
                throw new NanLossException("the loss is " + loss, loop.step + 1, loop.epoch, plan.schedule().at(loop.step));
            }
            lossSum += loss;
            loop.examples += batches.get(j).size();
        }
        long t1 = System.nanoTime();
        double gradNorm = adam.clipGradients(config.maxGradNorm());
        if (!Double.isFinite(gradNorm)) {
            adam.zeroGradients();
            throw new NanLossException("the gradient norm is " + gradNorm, loop.step + 1, loop.epoch, plan.schedule().at(loop.step));
        }
        double lr = plan.schedule().at(loop.step);
        adam.step(lr);
        loop.step++;
        loop.windowForward += (t1 - t0) / 1e6;
        loop.windowOptimizer += (System.nanoTime() - t1) / 1e6;
        loop.batchInEpoch = end;
        double loss = lossSum / micro;
        loop.windowLoss += loss;
        loop.windowCount++;
        return new Update(loss, lr, gradNorm);
    }

    /** Every {@code log-every} updates (and the last): a {@code train} line with the window's means. Returns whether it logged. */
    private boolean logUpdate(Plan plan, Loop loop, Update update, double elapsed) {
        boolean logNow = loop.step % config.logEvery() == 0 || loop.step == plan.total();
        if (logNow) {
            Map<String, Object> values = new LinkedHashMap<>();
            values.put("loss", loop.windowLoss / loop.windowCount);
            values.put("learning_rate", update.learningRate());
            values.put("grad_norm", update.gradNorm());
            values.put("examples_per_s", loop.examples / Math.max(1e-9, elapsed));
            values.put("forward_backward_ms", loop.windowForward / loop.windowCount);
            values.put("optimizer_ms", loop.windowOptimizer / loop.windowCount);
            values.put("elapsed_s", elapsed);
            log.append("train", loop.step, loop.epoch, values);
            listeners.metrics("train", loop.step, values);
            loop.windowLoss = 0;
            loop.windowCount = 0;
            loop.windowForward = 0;
            loop.windowOptimizer = 0;
        }
        return logNow;
    }

    private boolean evaluationDue(Plan plan, long step, boolean epochEnd) {
        return config.evalEvery() > 0 ? step % config.evalEvery() == 0 || step == plan.total() : epochEnd || step == plan.total();
    }

    /**
     * Evaluates (if there is an evaluation split), saves the best and last checkpoints, and applies
     * early stopping. Returns true when training should stop early.
     */
    private boolean evaluateAndCheckpoint(Plan plan, Map<String, Parameter> params, AdamW adam, Loop loop, Progress progress,
            boolean epochEnd, double elapsed) {
        int nextEpoch = epochEnd ? loop.epoch + 1 : loop.epoch;
        int nextBatch = epochEnd ? 0 : loop.batchInEpoch;
        if (eval != null) {
            long e0 = System.nanoTime();
            // a stop requested now lets this evaluation finish, so the step and its checkpoint are complete
            loop.lastEval = Interruption.deferring(() -> Evaluator.evaluate(model, eval, config.evalBatchSize(), padId).metrics());
            double took = (System.nanoTime() - e0) / 1e9;
            loop.evalSeconds += took;
            Map<String, Object> line = new LinkedHashMap<>(loop.lastEval);
            line.put("eval_s", took);
            log.append("eval", loop.step, loop.epoch, line);
            listeners.metrics("eval", loop.step, line);
            progress.message(String.format(java.util.Locale.ROOT, "eval step %d: %s", loop.step, format(loop.lastEval)));
            Double value = loop.lastEval.get(plan.metric());
            if (value == null) {
                throw new Peft4jException("train.metric = '" + plan.metric() + "' is not computed for this task; metrics are " + loop.lastEval.keySet());
            }
            boolean improved = plan.lower() ? value < loop.best : value > loop.best;
            if (improved) {
                loop.best = value;
                loop.bestStep = loop.step;
                loop.bad = 0;
                if (config.checkpoints() || config.loadBest()) {
                    checkpointer.save("best", values(params), null, loop.snapshot(nextEpoch, nextBatch, elapsed));
                }
            } else {
                loop.bad++;
            }
        }
        if (config.checkpoints()) {
            checkpointer.save("last", values(params), adam.state(), loop.snapshot(nextEpoch, nextBatch, elapsed), scheduleFiles());
        }
        if (config.patience() > 0 && loop.bad >= config.patience()) {
            progress.message("early stopping at step " + loop.step + ": " + plan.metric() + " has not improved for " + loop.bad
                    + " evaluations (best " + loop.best + " at step " + loop.bestStep + ")");
            return true;
        }
        return false;
    }

    /** After the loop: the best checkpoint back if asked, the final evaluation and {@code eval.json}. */
    private Result finish(Plan plan, Map<String, Parameter> params, Loop loop, boolean stoppedEarly, Map<String, Double> initialMetrics) {
        double trainSeconds = loop.elapsed();
        if (config.loadBest() && eval != null && loop.bestStep >= 0 && loop.bestStep != loop.step) {
            restore("best", params);
            console.println("loaded the best checkpoint (step " + loop.bestStep + ", " + plan.metric() + " = " + loop.best + ")");
        }
        Map<String, Double> finalMetrics = eval == null ? Map.of()
                : Interruption.deferring(() -> Evaluator.evaluate(model, eval, config.evalBatchSize(), padId).metrics());
        writeEvalJson(finalMetrics, plan.metric(), loop.best, loop.bestStep, loop.step, trainSeconds);
        return new Result(finalMetrics, loop.state, stoppedEarly, false, plan.total(), trainSeconds, loop.evalSeconds, initialMetrics);
    }

    /**
     * Ends the run at a stop request ({@link Interruption}), between optimizer updates: saves the last checkpoint at the
     * last completed step (running the same command again resumes exactly there) and returns an interrupted result.
     */
    private Result stopOnRequest(Map<String, Parameter> params, AdamW adam, Progress progress, Loop loop, Plan plan,
            Map<String, Double> initialMetrics) {
        progress.finish();
        TrainState state = loop.state;
        String where;
        if (config.checkpoints() && state.step() > 0) {
            checkpointer.save("last", values(params), adam.state(), state, scheduleFiles());
            where = "checkpoint saved at step " + state.step() + " in " + checkpointer.path("last");
        } else if (checkpointer.exists("last")) {
            where = "nothing new saved; the last checkpoint in " + checkpointer.path("last") + " is kept";
        } else {
            where = config.checkpoints() ? "no step was completed, nothing to save" : "train.checkpoints = false: nothing saved";
        }
        console.println("stopping on SIG" + Interruption.signal().orElse("?") + " after step " + state.step() + " of " + plan.total() + ": " + where);
        return new Result(loop.lastEval, state, false, true, plan.total(), state.elapsedSeconds(), loop.evalSeconds, initialMetrics);
    }

    private void progress(String line) {
        console.println(line);
    }

    private static int params(ParameterGroups groups) {
        return groups.entries().size();
    }

    private double microStep(Batch batch, int microBatches) {
        return forwardBackward(model, batch, microBatches);
    }

    /**
     * Forward and backward of one micro-batch in its own per-step manager, the loss divided by
     * {@code microBatches}; gradients accumulate on the trainable parameters. Returns the (unscaled)
     * loss. Public so that {@code peft4j bench} times exactly the trainer's step: this, then
     * {@link AdamW#clipGradients} and {@link AdamW#step}.
     */
    public static double forwardBackward(TaskModel model, Batch batch, int microBatches) {
        try (NDManager step = model.backbone().manager().newSubManager()) {
            ForwardContext context = ForwardContext.training(step);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                long a = System.nanoTime();
                // the head's loss plus every configured objective's (weighted), with the teacher's forward when one is needed
                NDArray loss = model.trainingLoss(batch, context);
                NDArray scaled = microBatches > 1 ? loss.div(context.scalar(microBatches)) : loss;
                long b = System.nanoTime();
                collector.backward(scaled);
                long c = System.nanoTime();
                float v = loss.getFloat();
                if (PROFILE) {
                    System.err.printf("batch %dx%d fwd %.0f ms bwd %.0f ms%n", batch.size(), batch.seqLength(), (b - a) / 1e6, (c - b) / 1e6);
                }
                return v;
            }
        }
    }

    /** The schedule's file for a checkpoint (none when every parameter trains at the base rate from the start). */
    private Map<String, String> scheduleFiles() {
        return groups.trivial() ? Map.of() : Map.of(ParameterGroups.FILE, groups.json());
    }

    private TrainState resume(Map<String, Parameter> params, AdamW adam, Plan plan) {
        String saved = checkpointer.text("last", ParameterGroups.FILE).orElse(null);
        String now = groups.trivial() ? null : groups.json();
        if (!java.util.Objects.equals(saved, now)) {
            throw new Peft4jException(checkpointer.path("last") + " was written " + (saved == null ? "without a parameter schedule"
                    : "with another parameter schedule (" + ParameterGroups.FILE + ")") + " than this run's "
                    + (now == null ? "(none)" : "(learning-rate groups or unfreezing stages differ)") + "; resuming would mix two runs: start a new run.dir");
        }
        try (NDManager temp = model.backbone().manager().newSubManager()) {
            Checkpointer.Loaded loaded = checkpointer.load("last", temp).orElseThrow();
            TrainState state = loaded.state();
            if (state.step() > plan.total() || state.epoch() > config.epochs() || state.batchInEpoch() > plan.batchesPerEpoch()) {
                throw new Peft4jException(checkpointer.path("last").resolve("state.json") + ": the checkpoint is at step " + state.step()
                        + " (epoch " + state.epoch() + ", batch " + state.batchInEpoch() + "), outside this run of " + plan.total() + " steps ("
                        + config.epochs() + " epochs of " + plan.batchesPerEpoch() + " batches); it is damaged or from another run");
            }
            copyInto(params, loaded.trainable(), "checkpoint " + checkpointer.path("last"));
            adam.load(loaded.optimizer(), loaded.state().step());
            return loaded.state();
        }
    }

    private void restore(String name, Map<String, Parameter> params) {
        try (NDManager temp = model.backbone().manager().newSubManager()) {
            Checkpointer.Loaded loaded = checkpointer.load(name, temp).orElseThrow();
            copyInto(params, loaded.trainable(), "checkpoint " + checkpointer.path(name));
        }
    }

    /** Copies saved values into the parameters in place; all names and shapes are checked first. */
    public static void copyInto(Map<String, Parameter> params, Map<String, NDArray> saved, String where) {
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            NDArray s = saved.get(e.getKey());
            if (s == null || !s.getShape().equals(e.getValue().shape())) {
                throw new Peft4jException(where + ": tensor '" + e.getKey() + "' is " + (s == null ? "missing" : "of shape " + s.getShape())
                        + ", expected " + e.getValue().shape() + " (was the run's config changed?)");
            }
        }
        // in place into leaves that require grad: legal only with autograd off, which a thread peft4j did not start
        // (a Spark task) does not have by default
        dev.peft4j.models.Engines.withoutGrad(() -> {
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                AdamW.copyInto(e.getValue().value(), saved.get(e.getKey()));
            }
        });
    }

    static Map<String, NDArray> values(Map<String, Parameter> params) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        params.forEach((k, p) -> out.put(k, p.value()));
        return out;
    }

    private void writeEvalJson(Map<String, Double> metrics, String metric, double best, long bestStep, long steps, double seconds) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("metrics", metrics);
        out.put("selection_metric", metric);
        out.put("best_value", Double.isFinite(best) ? best : null);
        out.put("best_step", bestStep);
        out.put("steps", steps);
        out.put("train_seconds", seconds);
        out.put("examples", eval == null ? 0 : eval.size());
        if (!badRows.isEmpty()) {
            out.put("bad_rows", badRows);
        }
        try {
            Files.createDirectories(runDirectory);
            Files.writeString(runDirectory.resolve("eval.json"),
                    new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(out) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Peft4jException("cannot write " + runDirectory.resolve("eval.json") + ": " + e.getMessage(), e);
        }
    }

    /** What {@code eval.json} records under {@code bad_rows} (see {@link dev.peft4j.runtime.data.BadRows#toJson}). */
    public Trainer badRows(Map<String, Object> badRows) {
        this.badRows = Map.copyOf(badRows);
        return this;
    }

    static String format(Map<String, Double> metrics) {
        StringBuilder sb = new StringBuilder();
        metrics.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : " ").append(k).append('=').append(String.format(java.util.Locale.ROOT, "%.4f", v)));
        return sb.toString();
    }
}
