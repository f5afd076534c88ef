package dev.peft4j.models.generation;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;

/**
 * Next-token cross-entropy for causal LMs, HF's convention: the logits at position {@code t}
 * predict {@code labels[t + 1]}; labels equal to {@link #IGNORE_INDEX} (padding, prompt tokens) are
 * left out of both the sum and the count. Differentiable: {@code log_softmax} and {@code gather},
 * with torch-owned constants only.
 */
public final class CausalLmLoss {
    /** The label that is not trained on, as in PyTorch and HF. */
    public static final long IGNORE_INDEX = -100;

    private CausalLmLoss() {}

    /**
     * Mean next-token cross-entropy over the labels that are not ignored.
     *
     * @param logits {@code [B, T, V]}
     * @param labels int64 {@code [B, T]}, {@code -100} where ignored
     * @return a 0-d float32 tensor; 0 when every label is ignored
     */
    public static NDArray compute(NDArray logits, NDArray labels, ForwardContext context) {
        NDList sums = sumAndCount(logits, labels, context);
        return sums.get(0).div(sums.get(1).maximum(context.scalar(1f)));
    }

    /**
     * The summed negative log-likelihood and the number of counted tokens (both 0-d float32), for
     * token-weighted means over many batches (evaluation perplexity).
     */
    public static NDList sumAndCount(NDArray logits, NDArray labels, ForwardContext context) {
        requireNonNull(logits, "logits is null");
        requireNonNull(labels, "labels is null");
        requireNonNull(context, "context is null");
        Shape ls = logits.getShape();
        Shape bs = labels.getShape();
        if (ls.dimension() == 3 && bs.dimension() == 2 && ls.get(0) == bs.get(0) && ls.get(1) > bs.get(1)) {
            // prompt tuning: P virtual tokens before the input; HF PEFT pads the labels with P x -100
            NDArray pad = labels.getManager().full(new Shape(bs.get(0), ls.get(1) - bs.get(1)), (long) IGNORE_INDEX, ai.djl.ndarray.types.DataType.INT64);
            labels = pad.concat(labels.toType(ai.djl.ndarray.types.DataType.INT64, false), 1);
            bs = labels.getShape();
        }
        if (ls.dimension() != 3 || bs.dimension() != 2 || ls.get(0) != bs.get(0) || ls.get(1) != bs.get(1)) {
            throw new Peft4jException("causal-LM loss: logits " + ls + " and labels " + bs
                    + " do not match; expected [batch, seq, vocab] and [batch, seq]");
        }
        if (labels.getDataType() != DataType.INT64) {
            throw new Peft4jException("causal-LM loss: labels are " + labels.getDataType() + ", expected int64");
        }
        NDArray shiftedLogits = logits.get(":, :-1, :"); // [B, T-1, V]
        NDArray shiftedLabels = labels.get(":, 1:"); // [B, T-1]
        NDArray ignore = context.manager().full(shiftedLabels.getShape(), IGNORE_INDEX, DataType.INT64);
        NDArray valid = shiftedLabels.neq(ignore); // bool [B, T-1]
        NDArray safeLabels = NDArrays.where(valid, shiftedLabels, context.manager().zeros(shiftedLabels.getShape(), DataType.INT64));
        NDArray logProbs = shiftedLogits.logSoftmax(-1);
        NDArray picked = logProbs.gather(safeLabels.expandDims(-1), -1).squeeze(-1); // [B, T-1]
        NDArray weights = valid.toType(logProbs.getDataType(), false);
        NDArray sum = picked.mul(weights).sum().neg();
        return new NDList(sum, weights.sum());
    }

    /** {@code exp(mean loss)}. */
    public static double perplexity(double meanLoss) {
        return Math.exp(meanLoss);
    }
}
