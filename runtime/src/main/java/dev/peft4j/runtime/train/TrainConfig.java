package dev.peft4j.runtime.train;

import java.util.List;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.runtime.config.SettingsSection;

/**
 * The {@code train} section (defaults and a comment per key in runtime's {@code reference.conf}).
 *
 * @param maxSteps optimizer updates to stop after; 0 means "all epochs"
 * @param warmupSteps warm-up updates; if 0, {@code warmupRatio} of all updates
 * @param maxGradNorm global gradient-norm clip; 0 turns clipping off
 * @param evalEvery evaluate every N updates; 0 means at the end of each epoch
 * @param metric the metric that picks the best checkpoint and drives early stopping; empty = task default
 * @param patience evaluations without improvement before stopping; 0 = never stop early
 * @param loadBest evaluate (and save) the best checkpoint's weights at the end instead of the last
 * @param evalAtStart evaluate once before the first update (logged as step 0), so a run shows its starting point
 */
public record TrainConfig(long seed, int epochs, long maxSteps, int batchSize, int evalBatchSize, double learningRate,
        double weightDecay, double beta1, double beta2, double epsilon, String schedule, long warmupSteps, double warmupRatio,
        double maxGradNorm, int gradientAccumulation, long evalEvery, long logEvery, String metric, int patience,
        int bucketBatches, boolean checkpoints, boolean loadBest, boolean evalAtStart) {

    /** The host's reader of the {@code train} section. */
    public static final SettingsSection<TrainConfig> SECTION = new SettingsSection<>() {
        @Override
        public String path() {
            return "train";
        }

        @Override
        public Class<TrainConfig> type() {
            return TrainConfig.class;
        }

        @Override
        public TrainConfig read(ConfigReader reader) {
            return TrainConfig.read(reader);
        }
    };

    public static Config defaults() {
        return ConfigFactory.defaultReference().getConfig("train");
    }

    /** Parses a {@code train} section over the defaults and throws on any problem (Java API, tests). */
    public static TrainConfig from(Config section, String path) {
        ConfigReader r = new ConfigReader(section.withFallback(defaults()), path);
        TrainConfig c = read(r);
        r.finish();
        return c;
    }

    /** Every metric some task computes (per-type token metrics are {@code f1_<TYPE>}); the task's own list is checked at the first evaluation. */
    public static final List<String> METRICS = List.of("accuracy", "f1", "macro_f1", "mcc", "loss", "pearson", "spearman", "mse", "micro_f1",
            "subset_accuracy", "precision", "recall", "perplexity");

    private static String metric(ConfigReader r) {
        String v = r.string("metric");
        if (!v.isEmpty() && !v.matches("f1_[A-Za-z0-9_-]+")) {
            List<String> choices = new java.util.ArrayList<>(METRICS);
            choices.add(0, "\"\" (the task's default)");
            choices.add("f1_<TYPE>");
            if (!METRICS.contains(v)) {
                r.oneOf("metric", choices);
            }
        }
        return v;
    }

    /** Reads every key; problems stay on the reader. */
    public static TrainConfig read(ConfigReader r) {
        return new TrainConfig(
                r.longValue("seed", Long.MIN_VALUE, Long.MAX_VALUE),
                r.intValue("epochs", 1, 100_000),
                r.longValue("max-steps", 0, Long.MAX_VALUE),
                r.intValue("batch-size", 1, 1 << 16),
                r.intValue("eval-batch-size", 1, 1 << 16),
                r.doubleValue("learning-rate", 0, false, 10, true),
                r.doubleValue("weight-decay", 0, true, 1, true),
                r.doubleValue("adam-beta1", 0, true, 1, false),
                r.doubleValue("adam-beta2", 0, true, 1, false),
                r.doubleValue("adam-epsilon", 0, false, 1, true),
                r.oneOf("schedule", LearningRateSchedule.KINDS),
                r.longValue("warmup-steps", 0, Long.MAX_VALUE),
                r.doubleValue("warmup-ratio", 0, true, 1, false),
                r.doubleValue("max-grad-norm", 0, true, 1e9, true),
                r.intValue("gradient-accumulation", 1, 1 << 16),
                r.longValue("eval-every", 0, Long.MAX_VALUE),
                r.longValue("log-every", 1, Long.MAX_VALUE),
                metric(r),
                r.intValue("patience", 0, 1_000_000),
                r.intValue("bucket-batches", 1, 1_000_000),
                r.bool("checkpoints"),
                r.bool("load-best"),
                r.bool("eval-at-start"));
    }
}
