package dev.peft4j.runtime.metrics;

import static java.util.Objects.requireNonNull;

import java.util.TreeSet;

/**
 * Classification metrics over integer class ids, matching scikit-learn: F1 is 0 where precision and
 * recall are both undefined ({@code zero_division=0}); macro F1 averages over the sorted union of the
 * labels seen in gold and predictions; Matthews correlation is the multi-class form and 0 when its
 * denominator is 0.
 */
public final class ClassificationMetrics {
    private ClassificationMetrics() {}

    /** Fraction of positions where {@code predicted[i] == gold[i]}. */
    public static double accuracy(int[] gold, int[] predicted) {
        check(gold, predicted);
        int correct = 0;
        for (int i = 0; i < gold.length; i++) {
            if (gold[i] == predicted[i]) {
                correct++;
            }
        }
        return (double) correct / gold.length;
    }

    /** F1 of one class against the rest ({@code average='binary'}, {@code pos_label=positive}). */
    public static double f1(int[] gold, int[] predicted, int positive) {
        check(gold, predicted);
        long tp = 0;
        long fp = 0;
        long fn = 0;
        for (int i = 0; i < gold.length; i++) {
            boolean g = gold[i] == positive;
            boolean p = predicted[i] == positive;
            if (g && p) {
                tp++;
            } else if (p) {
                fp++;
            } else if (g) {
                fn++;
            }
        }
        return f1(tp, fp, fn);
    }

    /** Unweighted mean of per-class F1 over the classes present in gold or predictions ({@code average='macro'}). */
    public static double macroF1(int[] gold, int[] predicted) {
        check(gold, predicted);
        TreeSet<Integer> labels = new TreeSet<>();
        for (int i = 0; i < gold.length; i++) {
            labels.add(gold[i]);
            labels.add(predicted[i]);
        }
        double sum = 0;
        for (int label : labels) {
            sum += f1(gold, predicted, label);
        }
        return sum / labels.size();
    }

    /** Matthews correlation coefficient, multi-class (Gorodkin's R_K, as {@code sklearn.metrics.matthews_corrcoef}). */
    public static double matthews(int[] gold, int[] predicted) {
        check(gold, predicted);
        TreeSet<Integer> labels = new TreeSet<>();
        for (int i = 0; i < gold.length; i++) {
            labels.add(gold[i]);
            labels.add(predicted[i]);
        }
        int k = labels.size();
        java.util.Map<Integer, Integer> position = new java.util.HashMap<>();
        for (int label : labels) {
            position.put(label, position.size());
        }
        long[][] confusion = new long[k][k];
        for (int i = 0; i < gold.length; i++) {
            confusion[position.get(gold[i])][position.get(predicted[i])]++;
        }
        double[] trueSum = new double[k];
        double[] predSum = new double[k];
        double correct = 0;
        for (int i = 0; i < k; i++) {
            correct += confusion[i][i];
            for (int j = 0; j < k; j++) {
                trueSum[i] += confusion[i][j];
                predSum[j] += confusion[i][j];
            }
        }
        double n = gold.length;
        double dotPT = 0;
        double dotPP = 0;
        double dotTT = 0;
        for (int i = 0; i < k; i++) {
            dotPT += predSum[i] * trueSum[i];
            dotPP += predSum[i] * predSum[i];
            dotTT += trueSum[i] * trueSum[i];
        }
        double covYtYp = correct * n - dotPT;
        double covYpYp = n * n - dotPP;
        double covYtYt = n * n - dotTT;
        if (covYpYp * covYtYt == 0) {
            return 0.0;
        }
        return covYtYp / Math.sqrt(covYtYt * covYpYp);
    }

    static double f1(long tp, long fp, long fn) {
        long denominator = 2 * tp + fp + fn;
        return denominator == 0 ? 0.0 : 2.0 * tp / denominator;
    }

    private static void check(int[] gold, int[] predicted) {
        requireNonNull(gold, "gold is null");
        requireNonNull(predicted, "predicted is null");
        if (gold.length != predicted.length) {
            throw new IllegalArgumentException("gold has " + gold.length + " labels but predicted has " + predicted.length);
        }
        if (gold.length == 0) {
            throw new IllegalArgumentException("no examples to score");
        }
    }
}
