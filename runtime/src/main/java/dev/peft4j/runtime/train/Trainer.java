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

    public Checkpointer checkpointer() {
        return checkpointer;
    }

    public Result train() {
        return train(Long.MAX_VALUE);
    }

    /** Trains; stops like a killed process (no final evaluation or outputs) after update {@code stopAfter}. */
    public Result train(long stopAfter) {
        Map<String, Parameter> params = model.trainableParameters();
        if (params.isEmpty()) {
            throw new Peft4jException("nothing to train: no parameter of the task model is trainable (check the method config)");
        }
        String metric = config.metric().isEmpty() ? Evaluator.defaultMetric(train.kind()) : config.metric();
        boolean lower = Evaluator.lowerIsBetter(metric);
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
        Engine engine = Engine.getInstance();

        try (AdamW adam = new AdamW(params, model.backbone().manager(), config.beta1(), config.beta2(), config.epsilon(), config.weightDecay())) {
            TrainState state = TrainState.start(lower);
            if (checkpointer.exists("last")) {
                state = resume(params, adam);
                log.truncateAfter(state.step());
                console.println("resuming from " + checkpointer.path("last") + " at step " + state.step() + " of " + total);
            } else if (Files.exists(log.file())) {
                log.truncateAfter(-1);
            }
            Map<String, Double> initialMetrics = Map.of();
            if (config.evalAtStart() && eval != null && state.step() == 0) {
                long e0 = System.nanoTime();
                initialMetrics = Interruption.deferring(() -> Evaluator.evaluate(model, eval, config.evalBatchSize(), padId).metrics());
                Map<String, Object> line = new LinkedHashMap<>(initialMetrics);
                line.put("eval_s", (System.nanoTime() - e0) / 1e9);
                log.append("eval", 0, 0, line);
                console.println(String.format(java.util.Locale.ROOT, "eval step 0 (before training): %s", format(initialMetrics)));
            }
            Progress progress = new Progress(console, total);
            long step = state.step();
            int epoch = state.epoch();
            int batchInEpoch = state.batchInEpoch();
            double best = state.bestValue();
            long bestStep = state.bestStep();
            int bad = state.evalsWithoutImprovement();
            long examples = state.examplesSeen();
            double elapsedBefore = state.elapsedSeconds();
            long started = System.nanoTime();
            boolean stoppedEarly = false;
            double windowLoss = state.windowLoss();
            int windowCount = state.windowCount();
            Map<String, Double> lastEval = Map.of();
            double windowForward = 0;
            double windowOptimizer = 0;
            double evalSeconds = 0;

            outer:
            while (epoch < config.epochs() && step < total) {
                List<Batch> batches = batcher.trainingEpoch(config.seed(), epoch);
                while (batchInEpoch < batches.size() && step < total) {
                    if (Interruption.requested()) {
                        return stopOnRequest(params, adam, progress, state, total, evalSeconds, initialMetrics, lastEval);
                    }
                    int end = Math.min(batchInEpoch + accumulation, batches.size());
                    int micro = end - batchInEpoch;
                    double lossSum = 0;
                    long t0 = System.nanoTime();
                    for (int j = batchInEpoch; j < end; j++) {
                        if (j > batchInEpoch && Interruption.requested()) {
                            // abandon the half-accumulated update: the checkpoint holds the last complete step
                            adam.zeroGradients();
                            return stopOnRequest(params, adam, progress, state, total, evalSeconds, initialMetrics, lastEval);
                        }
                        long position = (long) epoch * batchesPerEpoch + j;
                        engine.setRandomSeed((int) (config.seed() * 1_000_003L + position));
                        double loss = microStep(batches.get(j), micro);
                        if (!Double.isFinite(loss)) {
                            adam.zeroGradients();
                            throw new NanLossException("the loss is " + loss, step + 1, epoch, schedule.at(step));
                        }
                        lossSum += loss;
                        examples += batches.get(j).size();
                    }
                    long t1 = System.nanoTime();
                    double gradNorm = adam.clipGradients(config.maxGradNorm());
                    if (!Double.isFinite(gradNorm)) {
                        adam.zeroGradients();
                        throw new NanLossException("the gradient norm is " + gradNorm, step + 1, epoch, schedule.at(step));
                    }
                    double lr = schedule.at(step);
                    adam.step(lr);
                    step++;
                    windowForward += (t1 - t0) / 1e6;
                    windowOptimizer += (System.nanoTime() - t1) / 1e6;
                    batchInEpoch = end;
                    double loss = lossSum / micro;
                    windowLoss += loss;
                    windowCount++;
                    double elapsed = elapsedBefore + (System.nanoTime() - started) / 1e9;
                    boolean logNow = step % config.logEvery() == 0 || step == total;
                    if (logNow) {
                        Map<String, Object> values = new LinkedHashMap<>();
                        values.put("loss", windowLoss / windowCount);
                        values.put("learning_rate", lr);
                        values.put("grad_norm", gradNorm);
                        values.put("examples_per_s", examples / Math.max(1e-9, elapsed));
                        values.put("forward_backward_ms", windowForward / windowCount);
                        values.put("optimizer_ms", windowOptimizer / windowCount);
                        values.put("elapsed_s", elapsed);
                        log.append("train", step, epoch, values);
                        windowLoss = 0;
                        windowCount = 0;
                        windowForward = 0;
                        windowOptimizer = 0;
                    }
                    progress.update(step, epoch, loss, examples / Math.max(1e-9, elapsed), elapsed, logNow);

                    boolean epochEnd = batchInEpoch >= batches.size();
                    boolean evalNow = config.evalEvery() > 0 ? step % config.evalEvery() == 0 || step == total : epochEnd || step == total;
                    if (evalNow) {
                        int nextEpoch = epochEnd ? epoch + 1 : epoch;
                        int nextBatch = epochEnd ? 0 : batchInEpoch;
                        if (eval != null) {
                            long e0 = System.nanoTime();
                            // a stop requested now lets this evaluation finish, so the step and its checkpoint are complete
                            lastEval = Interruption.deferring(() -> Evaluator.evaluate(model, eval, config.evalBatchSize(), padId).metrics());
                            double took = (System.nanoTime() - e0) / 1e9;
                            evalSeconds += took;
                            Map<String, Object> line = new LinkedHashMap<>(lastEval);
                            line.put("eval_s", took);
                            log.append("eval", step, epoch, line);
                            progress.message(String.format(java.util.Locale.ROOT, "eval step %d: %s", step, format(lastEval)));
                            Double value = lastEval.get(metric);
                            if (value == null) {
                                throw new Peft4jException("train.metric = '" + metric + "' is not computed for this task; metrics are " + lastEval.keySet());
                            }
                            boolean improved = lower ? value < best : value > best;
                            if (improved) {
                                best = value;
                                bestStep = step;
                                bad = 0;
                                if (config.checkpoints() || config.loadBest()) {
                                    checkpointer.save("best", values(params), null, new TrainState(step, nextEpoch, nextBatch, best, bestStep, bad,
                                            elapsed, examples, windowLoss, windowCount));
                                }
                            } else {
                                bad++;
                            }
                        }
                        if (config.checkpoints()) {
                            checkpointer.save("last", values(params), adam.state(), new TrainState(step, nextEpoch, nextBatch, best, bestStep, bad,
                                    elapsed, examples, windowLoss, windowCount));
                        }
                        if (config.patience() > 0 && bad >= config.patience()) {
                            progress.message("early stopping at step " + step + ": " + metric + " has not improved for " + bad
                                    + " evaluations (best " + best + " at step " + bestStep + ")");
                            stoppedEarly = true;
                            state = new TrainState(step, epoch, batchInEpoch, best, bestStep, bad, elapsed, examples, windowLoss, windowCount);
                            break outer;
                        }
                    }
                    state = new TrainState(step, epoch, batchInEpoch, best, bestStep, bad, elapsed, examples, windowLoss, windowCount);
                    if (step >= stopAfter) {
                        progress.finish();
                        return new Result(lastEval, state, false, true, total, elapsed, evalSeconds, initialMetrics);
                    }
                }
                epoch++;
                batchInEpoch = 0;
            }
            progress.finish();
            double trainSeconds = elapsedBefore + (System.nanoTime() - started) / 1e9;
            if (config.loadBest() && eval != null && bestStep >= 0 && bestStep != step) {
                restore("best", params);
                console.println("loaded the best checkpoint (step " + bestStep + ", " + metric + " = " + best + ")");
            }
            Map<String, Double> finalMetrics = eval == null ? Map.of()
                    : Interruption.deferring(() -> Evaluator.evaluate(model, eval, config.evalBatchSize(), padId).metrics());
            writeEvalJson(finalMetrics, metric, best, bestStep, step, trainSeconds);
            return new Result(finalMetrics, state, stoppedEarly, false, total, trainSeconds, evalSeconds, initialMetrics);
        }
    }

    /**
     * Ends the run at a stop request ({@link Interruption}), between optimizer steps: saves the last checkpoint at the
     * last completed step (so that running the same command again resumes exactly there) and returns an interrupted result.
     */
    private Result stopOnRequest(Map<String, Parameter> params, AdamW adam, Progress progress, TrainState state, long total, double evalSeconds,
            Map<String, Double> initialMetrics, Map<String, Double> lastEval) {
        progress.finish();
        String where;
        if (config.checkpoints() && state.step() > 0) {
            checkpointer.save("last", values(params), adam.state(), state);
            where = "checkpoint saved at step " + state.step() + " in " + checkpointer.path("last");
        } else if (checkpointer.exists("last")) {
            where = "nothing new saved; the last checkpoint in " + checkpointer.path("last") + " is kept";
        } else {
            where = config.checkpoints() ? "no step was completed, nothing to save" : "train.checkpoints = false: nothing saved";
        }
        console.println("stopping on SIG" + Interruption.signal().orElse("?") + " after step " + state.step() + " of " + total + ": " + where);
        return new Result(lastEval, state, false, true, total, state.elapsedSeconds(), evalSeconds, initialMetrics);
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
                NDArray logits = model.forward(batch.input(step), context);
                NDArray loss = model.head().loss(logits, batch.labels(step), context);
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

    private TrainState resume(Map<String, Parameter> params, AdamW adam) {
        try (NDManager temp = model.backbone().manager().newSubManager()) {
            Checkpointer.Loaded loaded = checkpointer.load("last", temp).orElseThrow();
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
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            AdamW.copyInto(e.getValue().value(), saved.get(e.getKey()));
        }
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
        try {
            Files.createDirectories(runDirectory);
            Files.writeString(runDirectory.resolve("eval.json"),
                    new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(out) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Peft4jException("cannot write " + runDirectory.resolve("eval.json") + ": " + e.getMessage(), e);
        }
    }

    static String format(Map<String, Double> metrics) {
        StringBuilder sb = new StringBuilder();
        metrics.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : " ").append(k).append('=').append(String.format(java.util.Locale.ROOT, "%.4f", v)));
        return sb.toString();
    }
}
