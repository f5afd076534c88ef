package dev.peft4j.runtime.train;

import dev.peft4j.api.Peft4jException;

/** The loss (or the gradient norm) stopped being finite: the run stops and says what to try. */
public final class NanLossException extends Peft4jException {
    private static final long serialVersionUID = 1L;

    public NanLossException(String what, long step, int epoch, double lr) {
        super(what + " at optimizer step " + step + " (epoch " + (epoch + 1) + ", learning rate " + String.format("%.3g", lr)
                + "). Try a lower train.learning-rate, train.max-grad-norm = 1.0, a longer warm-up (train.warmup-ratio),"
                + " or check the labels (a regression target or class id out of range). The last checkpoint is intact;"
                + " resume continues from it.");
    }
}
