package dev.peft4j.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.nn.ForwardContext;

/**
 * Differentiable losses. No {@code NDArray.op(Number)} touches a tensor in the graph (DJL frees the
 * scalar's buffer while autograd still holds it): constants come from {@link ForwardContext#scalar}, and
 * arithmetic with Java numbers is done only on label-derived tensors, which never require gradients.
 */
public final class Losses {
    /** The label that {@link #crossEntropy} ignores, as PyTorch's {@code ignore_index}. */
    public static final long IGNORE_INDEX = -100;

    private Losses() {}

    /**
     * Mean cross-entropy of {@code logits [n, classes]} against int64 class ids {@code [n]}; ids equal
     * to -100 are ignored (the mean is over the rest; 0 when none is left, as a 0-d tensor in the graph).
     */
    public static NDArray crossEntropy(NDArray logits, NDArray labels, ForwardContext context) {
        long classes = logits.getShape().get(logits.getShape().dimension() - 1);
        NDArray logProbs = logits.logSoftmax(-1);
        NDArray ids = labels.toType(DataType.INT64, false);
        NDArray valid = ids.gte(0L);                                     // [n] bool, not in the graph
        NDArray safeIds = ids.mul(valid.toType(DataType.INT64, false)); // -100 -> 0, masked below
        NDArray target = safeIds.oneHot((int) classes).toType(DataType.FLOAT32, false)
                .mul(valid.toType(DataType.FLOAT32, false).expandDims(-1)); // [n, classes]
        NDArray count = valid.toType(DataType.FLOAT32, false).sum().maximum(context.scalar(1f)); // >= 1, not in the graph
        return logProbs.mul(target).sum().neg().div(count);
    }

    /**
     * Next-token cross-entropy, HF's causal-LM convention (the same numbers as
     * {@code dev.peft4j.models.generation.CausalLmLoss}, which {@code heads} cannot depend on): the
     * logits at position {@code t} predict {@code labels[t + 1]}; labels of -100 (padding, prompt) are
     * left out of the sum and the count. Gathers the target log-probabilities rather than building a
     * one-hot {@code [n, vocab]} tensor, so a 32k vocabulary costs no extra memory.
     *
     * @param logits {@code [batch, seq, vocab]}
     * @param labels int64 {@code [batch, seq]}, aligned with the input ids (not shifted)
     * @return the mean over the counted tokens (0-d); 0 when none is counted
     */
    public static NDArray causalLm(NDArray logits, NDArray labels, ForwardContext context) {
        NDArray[] sumAndCount = causalLmSumAndCount(logits, labels, context);
        return sumAndCount[0].div(sumAndCount[1].maximum(context.scalar(1f)));
    }

    /** The summed next-token negative log-likelihood and the number of counted tokens (both 0-d float32). */
    public static NDArray[] causalLmSumAndCount(NDArray logits, NDArray labels, ForwardContext context) {
        labels = padForVirtualTokens(logits, labels);
        ai.djl.ndarray.types.Shape ls = logits.getShape();
        ai.djl.ndarray.types.Shape bs = labels.getShape();
        if (ls.dimension() != 3 || bs.dimension() != 2 || ls.get(0) != bs.get(0) || ls.get(1) != bs.get(1)) {
            throw new dev.peft4j.api.Peft4jException("causal-LM loss: logits " + ls + " and labels " + bs
                    + " do not match; expected [batch, seq, vocab] and [batch, seq]");
        }
        NDArray shiftedLogits = logits.get(":, :-1, :");                        // [B, T-1, V]
        NDArray shiftedLabels = labels.toType(DataType.INT64, false).get(":, 1:"); // [B, T-1], not in the graph
        NDArray valid = shiftedLabels.gte(0L);                                  // bool, -100 -> false
        NDArray safe = shiftedLabels.mul(valid.toType(DataType.INT64, false));  // -100 -> 0, weighted out below
        NDArray picked = shiftedLogits.logSoftmax(-1).gather(safe.expandDims(-1), -1).squeeze(-1); // [B, T-1]
        NDArray weights = valid.toType(picked.getDataType(), false);
        return new NDArray[] {picked.mul(weights).sum().neg(), weights.sum().toType(DataType.FLOAT32, false)};
    }

    /**
     * Labels {@code [B, T]} for logits {@code [B, P + T, V]} (prompt tuning put {@code P} virtual tokens first):
     * {@code P} leading -100s, as HF PEFT pads them, so the last virtual token predicts the first real one.
     * Anything else is returned as it is.
     */
    static NDArray padForVirtualTokens(NDArray logits, NDArray labels) {
        ai.djl.ndarray.types.Shape ls = logits.getShape();
        ai.djl.ndarray.types.Shape bs = labels.getShape();
        if (ls.dimension() != 3 || bs.dimension() != 2 || ls.get(0) != bs.get(0) || ls.get(1) <= bs.get(1)) {
            return labels;
        }
        long p = ls.get(1) - bs.get(1);
        NDArray pad = labels.getManager().full(new ai.djl.ndarray.types.Shape(bs.get(0), p), -100L, DataType.INT64);
        return pad.concat(labels.toType(DataType.INT64, false), 1);
    }

    /** Mean squared error of {@code predictions [n] or [n, 1]} against float targets {@code [n]}. */
    public static NDArray meanSquaredError(NDArray predictions, NDArray targets, ForwardContext context) {
        NDArray p = predictions.getShape().dimension() == 2 ? predictions.reshape(-1) : predictions;
        NDArray diff = p.sub(targets.toType(DataType.FLOAT32, false));
        return diff.mul(diff).mean();
    }

    /**
     * Mean binary cross-entropy with logits ({@code BCEWithLogitsLoss}), in the stable form
     * {@code max(x, 0) - x * y + log(1 + exp(-|x|))}, over every element of {@code logits [n, labels]}.
     */
    public static NDArray binaryCrossEntropyWithLogits(NDArray logits, NDArray targets, ForwardContext context) {
        NDArray y = targets.toType(DataType.FLOAT32, false);
        NDArray softplus = logits.abs().neg().exp().add(context.scalar(1f)).log();
        return ai.djl.nn.Activation.relu(logits).sub(logits.mul(y)).add(softplus).mean();
    }
}
