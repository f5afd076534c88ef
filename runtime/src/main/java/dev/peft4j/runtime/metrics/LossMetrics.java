package dev.peft4j.runtime.metrics;

/** A running mean of per-example (or per-token) losses, and perplexity as {@code exp(mean loss)}. */
public final class LossMetrics {
    private double sum;
    private long count;

    /** Adds a loss that is the mean over {@code weight} items (examples or tokens). */
    public void add(double meanLoss, long weight) {
        if (weight < 0) {
            throw new IllegalArgumentException("weight must be >= 0, got " + weight);
        }
        sum += meanLoss * weight;
        count += weight;
    }

    public long count() {
        return count;
    }

    /** The weighted mean loss; NaN before anything was added. */
    public double mean() {
        return count == 0 ? Double.NaN : sum / count;
    }

    public double perplexity() {
        return perplexity(mean());
    }

    /** {@code exp(loss)} for a mean natural-log cross-entropy. */
    public static double perplexity(double meanLoss) {
        return Math.exp(meanLoss);
    }
}
