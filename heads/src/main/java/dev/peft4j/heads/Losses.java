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
        NDArray count = valid.toType(DataType.FLOAT32, false).sum().maximum(1f); // >= 1, not in the graph
        return logProbs.mul(target).sum().neg().div(count);
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
