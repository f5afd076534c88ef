package dev.peft4j.models.tokenizer;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ModelOutput;

/** Sentence vectors from an encoder's output, the way sentence-transformers computes them. */
public final class SentenceEmbeddings {
    private SentenceEmbeddings() {}

    /**
     * Mean of the last hidden state over real tokens ({@code attentionMask} 1), then L2-normalised:
     * {@code [B, S, H]} and {@code [B, S]} to {@code [B, H]}. As sentence-transformers, the token
     * count is clamped at 1e-9 and the norm at 1e-12. Safe to differentiate (for embedding
     * distillation): the clamps are torch-owned constants made in the mask's manager, never
     * {@code NDArray.maximum(Number)}.
     */
    public static NDArray meanPooledNormalized(ModelOutput output, NDArray attentionMask) {
        requireNonNull(output, "output is null");
        requireNonNull(attentionMask, "attentionMask is null");
        NDArray hidden = output.lastHiddenState();
        NDArray mask = attentionMask.toType(hidden.getDataType(), false).expandDims(-1); // [B, S, 1]
        NDArray summed = hidden.mul(mask).sum(new int[] {1}); // [B, H]
        NDManager constants = attentionMask.getManager();
        NDArray minCount = constants.full(new Shape(), 1e-9f, DataType.FLOAT32);
        NDArray minNorm = constants.full(new Shape(), 1e-12f, DataType.FLOAT32);
        NDArray counts = mask.sum(new int[] {1}).maximum(minCount); // [B, 1]
        NDArray mean = summed.div(counts);
        NDArray norm = mean.norm(new int[] {1}, true).maximum(minNorm); // [B, 1]
        return mean.div(norm);
    }
}
