package dev.peft4j.runtime.train;

import dev.peft4j.runtime.Interruption;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.Batcher;
import dev.peft4j.runtime.data.EncodedExample;
import dev.peft4j.runtime.data.TaskKind;
import dev.peft4j.runtime.data.TokenizedDataset;
import dev.peft4j.runtime.metrics.ClassificationMetrics;
import dev.peft4j.runtime.metrics.CorrelationMetrics;
import dev.peft4j.runtime.metrics.EntityMetrics;
import dev.peft4j.runtime.metrics.LossMetrics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runs a task model over a dataset in inference mode and scores it with the task's metrics. */
public final class Evaluator {
    private Evaluator() {}

    /** The metric a run selects its best checkpoint by, unless configured. */
    public static String defaultMetric(TaskKind kind) {
        return switch (kind) {
            case CLASSIFICATION -> "accuracy";
            case REGRESSION -> "pearson";
            case MULTI_LABEL -> "micro_f1";
            case TOKEN_CLASSIFICATION -> "f1";
            case CAUSAL_LM -> "perplexity";
            case QUESTION_ANSWERING -> "f1";
        };
    }

    /** Metrics where lower is better. */
    public static boolean lowerIsBetter(String metric) {
        return metric.equals("loss") || metric.equals("mse") || metric.equals("perplexity");
    }

    public static Evaluation evaluate(TaskModel model, TokenizedDataset data, int batchSize, long padId) {
        requireNonNull(model, "model is null");
        requireNonNull(data, "data is null");
        TaskKind kind = data.kind();
        if (kind == TaskKind.QUESTION_ANSWERING) {
            return evaluateSpans(model, data, batchSize, padId);
        }
        Object[] predictions = new Object[data.size()];
        float[][] scores = new float[data.size()][];
        LossMetrics loss = new LossMetrics();
        boolean labelled = data.encoded().stream().allMatch(EncodedExample::labelled);
        for (Batch batch : new Batcher(data, batchSize, 1, padId).evaluation()) {
            Interruption.throwIfRequested("evaluation");
            try (NDManager step = model.backbone().manager().newSubManager()) {
                ForwardContext context = ForwardContext.inference(step);
                ModelInput input = batch.input(step);
                NDArray logits = model.forward(input, context);
                if (labelled) {
                    // causal LM: the batch loss is a mean over its next-token targets, so weigh by them (perplexity per token)
                    long weight = kind == TaskKind.CAUSAL_LM ? batch.examples().stream().mapToLong(EncodedExample::targetCount).sum() : batch.size();
                    loss.add(model.head().loss(logits, batch.labels(step), context).getFloat(), weight);
                }
                collect(kind, batch, logits, predictions, scores, data);
            }
        }
        Map<String, Double> metrics = labelled ? metrics(kind, data, Arrays.asList(predictions), loss) : Map.of();
        return new Evaluation(metrics, Arrays.asList(predictions), Arrays.asList(scores));
    }

    /**
     * Extractive QA: start and end logits of every window, then one {@link SpanDecoder.Answer} per question (the predictions
     * are per question, in the dataset's source order; scores are empty); {@code exact_match} and {@code f1} in percent, as
     * the official SQuAD script reports them, and the mean loss over windows.
     */
    private static Evaluation evaluateSpans(TaskModel model, TokenizedDataset data, int batchSize, long padId) {
        int n = data.size();
        float[][] starts = new float[n][];
        float[][] ends = new float[n][];
        LossMetrics loss = new LossMetrics();
        boolean labelled = data.encoded().stream().allMatch(EncodedExample::labelled);
        for (Batch batch : new Batcher(data, batchSize, 1, padId).evaluation()) {
            Interruption.throwIfRequested("evaluation");
            try (NDManager step = model.backbone().manager().newSubManager()) {
                ForwardContext context = ForwardContext.inference(step);
                ModelInput input = batch.input(step);
                NDArray logits = model.forward(input, context); // [b, seq, 2]
                if (labelled) {
                    loss.add(model.head().loss(logits, batch.labels(step), context).getFloat(), batch.size());
                }
                float[] l = logits.toFloatArray();
                int seq = batch.seqLength();
                for (int i = 0; i < batch.size(); i++) {
                    EncodedExample e = batch.examples().get(i);
                    float[] s = new float[e.length()];
                    float[] t = new float[e.length()];
                    for (int p = 0; p < e.length(); p++) {
                        s[p] = l[(i * seq + p) * 2];
                        t[p] = l[(i * seq + p) * 2 + 1];
                    }
                    starts[e.index()] = s;
                    ends[e.index()] = t;
                }
            }
        }
        List<EncodedExample.SpanFeature> features = data.encoded().stream().map(EncodedExample::span).toList();
        List<List<Integer>> groups = SpanDecoder.byExample(features, data.exampleCount());
        List<Object> answers = new ArrayList<>(groups.size());
        List<float[]> scores = new ArrayList<>(groups.size());
        List<List<String>> golds = new ArrayList<>(groups.size());
        List<String> predicted = new ArrayList<>(groups.size());
        for (int q = 0; q < groups.size(); q++) {
            List<Integer> windows = groups.get(q);
            String context = (String) data.source(q).fields().get(dev.peft4j.runtime.data.Fields.CONTEXT);
            SpanDecoder.Answer a = SpanDecoder.decode(context, windows.stream().map(features::get).toList(),
                    windows.stream().map(w -> starts[w]).toList(), windows.stream().map(w -> ends[w]).toList(), data.spanOptions());
            answers.add(a);
            scores.add(new float[0]);
            predicted.add(a.text());
            @SuppressWarnings("unchecked")
            List<String> gold = (List<String>) data.source(q).fields().get(dev.peft4j.runtime.data.Fields.ANSWERS);
            golds.add(gold);
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        if (labelled) {
            Map<String, Double> totals = dev.peft4j.runtime.metrics.SquadMetrics.totals(golds, predicted);
            metrics.put("exact_match", totals.get("exact_match"));
            metrics.put("f1", totals.get("f1"));
            metrics.put("loss", loss.mean());
        }
        return new Evaluation(metrics, answers, scores);
    }

    private static void collect(TaskKind kind, Batch batch, NDArray logits, Object[] predictions, float[][] scores, TokenizedDataset data) {
        int b = batch.size();
        switch (kind) {
            case CLASSIFICATION -> {
                float[] probs = logits.softmax(-1).toFloatArray();
                int k = probs.length / b;
                for (int i = 0; i < b; i++) {
                    float[] p = Arrays.copyOfRange(probs, i * k, (i + 1) * k);
                    int idx = batch.examples().get(i).index();
                    predictions[idx] = argmax(p, 0, k);
                    scores[idx] = p;
                }
            }
            case REGRESSION -> {
                float[] v = logits.toFloatArray();
                for (int i = 0; i < b; i++) {
                    predictions[batch.examples().get(i).index()] = (double) v[i];
                }
            }
            case MULTI_LABEL -> {
                float[] s = logits.getNDArrayInternal().sigmoid().toFloatArray();
                int k = s.length / b;
                for (int i = 0; i < b; i++) {
                    float[] p = Arrays.copyOfRange(s, i * k, (i + 1) * k);
                    List<Integer> on = new ArrayList<>();
                    for (int j = 0; j < k; j++) {
                        if (p[j] > 0.5f) {
                            on.add(j);
                        }
                    }
                    int idx = batch.examples().get(i).index();
                    predictions[idx] = on;
                    scores[idx] = p;
                }
            }
            case CAUSAL_LM -> {
                // nothing per example: the loss is the result
            }
            case TOKEN_CLASSIFICATION -> {
                float[] l = logits.toFloatArray(); // [b, seq, k]
                int seq = batch.seqLength();
                int k = l.length / (b * seq);
                for (int i = 0; i < b; i++) {
                    EncodedExample e = batch.examples().get(i);
                    String[] tags = new String[e.words()];
                    Arrays.fill(tags, "O"); // words cut off by truncation are predicted outside any entity
                    long previous = -1;
                    for (int t = 0; t < e.length(); t++) {
                        long w = e.wordIds()[t];
                        if (w >= 0 && w != previous) {
                            tags[(int) w] = data.vocabulary().label(argmax(l, (i * seq + t) * k, k));
                        }
                        previous = w;
                    }
                    predictions[e.index()] = List.of(tags);
                }
            }
            default -> throw new IllegalStateException(kind.toString());
        }
    }

    private static int argmax(float[] v, int offset, int k) {
        int best = 0;
        for (int j = 1; j < k; j++) {
            if (v[offset + j] > v[offset + best]) {
                best = j;
            }
        }
        return best;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Double> metrics(TaskKind kind, TokenizedDataset data, List<Object> predictions, LossMetrics loss) {
        Map<String, Double> m = new LinkedHashMap<>();
        int n = data.size();
        switch (kind) {
            case CLASSIFICATION -> {
                int[] gold = new int[n];
                int[] pred = new int[n];
                for (int i = 0; i < n; i++) {
                    gold[i] = data.get(i).classId();
                    pred[i] = (Integer) predictions.get(i);
                }
                m.put("accuracy", ClassificationMetrics.accuracy(gold, pred));
                if (data.vocabulary().size() == 2) {
                    m.put("f1", ClassificationMetrics.f1(gold, pred, 1));
                }
                m.put("macro_f1", ClassificationMetrics.macroF1(gold, pred));
                m.put("mcc", ClassificationMetrics.matthews(gold, pred));
            }
            case REGRESSION -> {
                double[] gold = new double[n];
                double[] pred = new double[n];
                double se = 0;
                for (int i = 0; i < n; i++) {
                    gold[i] = data.get(i).value();
                    pred[i] = (Double) predictions.get(i);
                    se += (gold[i] - pred[i]) * (gold[i] - pred[i]);
                }
                m.put("pearson", n > 1 ? CorrelationMetrics.pearson(gold, pred) : Double.NaN);
                m.put("spearman", n > 1 ? CorrelationMetrics.spearman(gold, pred) : Double.NaN);
                m.put("mse", se / n);
            }
            case MULTI_LABEL -> {
                long tp = 0;
                long fp = 0;
                long fn = 0;
                int exact = 0;
                for (int i = 0; i < n; i++) {
                    float[] gold = data.get(i).multiHot();
                    List<Integer> on = (List<Integer>) predictions.get(i);
                    boolean[] p = new boolean[gold.length];
                    on.forEach(j -> p[j] = true);
                    boolean same = true;
                    for (int j = 0; j < gold.length; j++) {
                        boolean g = gold[j] > 0.5f;
                        tp += g && p[j] ? 1 : 0;
                        fp += !g && p[j] ? 1 : 0;
                        fn += g && !p[j] ? 1 : 0;
                        same &= g == p[j];
                    }
                    exact += same ? 1 : 0;
                }
                m.put("micro_f1", 2 * tp + fp + fn == 0 ? 0.0 : 2.0 * tp / (2 * tp + fp + fn));
                m.put("subset_accuracy", (double) exact / n);
            }
            case TOKEN_CLASSIFICATION -> {
                List<List<String>> gold = new ArrayList<>();
                List<List<String>> pred = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    gold.add((List<String>) data.source(i).fields().get(dev.peft4j.runtime.data.Fields.TAGS));
                    pred.add((List<String>) predictions.get(i));
                }
                EntityMetrics.Report r = EntityMetrics.score(gold, pred);
                m.put("f1", r.micro().f1());
                m.put("precision", r.micro().precision());
                m.put("recall", r.micro().recall());
                r.perType().forEach((type, s) -> m.put("f1_" + type, s.f1()));
            }
            case CAUSAL_LM -> m.put("perplexity", loss.perplexity());
            default -> throw new IllegalStateException(kind.toString());
        }
        m.put("loss", loss.mean());
        return m;
    }
}
