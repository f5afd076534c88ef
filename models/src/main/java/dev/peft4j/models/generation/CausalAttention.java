package dev.peft4j.models.generation;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;

/** Causal masked scaled-dot-product attention shared by the decoder architectures. */
public final class CausalAttention {
    /** Added to the scores of masked keys: large enough that softmax gives exactly 0, finite so a fully masked row is no NaN. */
    static final float MASKED = -1e9f;
    /** The same for float16 scores: far below any real score, with room left before -inf (max 65504). */
    static final float MASKED_FLOAT16 = -3e4f;

    private CausalAttention() {}

    /**
     * The additive attention bias {@code [B, 1, T, past + T]}: 0 where query {@code past + i} may
     * see key {@code j} (causal, {@code j <= past + i}, and {@code attentionMask[b, j] == 1}),
     * {@link #MASKED} elsewhere. Works for left and right padding.
     *
     * @param attentionMask int64 {@code [B, past + T]}, 1 for real tokens, 0 for padding
     */
    public static NDArray maskBias(NDArray attentionMask, long past, long queryLength, ForwardContext context) {
        return maskBias(attentionMask, past, queryLength, DataType.FLOAT32, context);
    }

    /** As {@link #maskBias(NDArray, long, long, ForwardContext)}, in the dtype of the attention scores (float32 or float16). */
    public static NDArray maskBias(NDArray attentionMask, long past, long queryLength, DataType dtype, ForwardContext context) {
        requireNonNull(attentionMask, "attentionMask is null");
        NDManager m = context.manager();
        Shape s = attentionMask.getShape();
        long keyLength = past + queryLength;
        if (s.dimension() != 2 || s.get(1) != keyLength) {
            throw new Peft4jException("attention mask has shape " + s + ", expected [batch, " + keyLength + "] ("
                    + past + " cached + " + queryLength + " new positions)");
        }
        NDArray keyPos = m.arange(0, keyLength, 1, DataType.INT64).reshape(1, keyLength);
        NDArray queryPos = m.arange(past, keyLength, 1, DataType.INT64).reshape(queryLength, 1);
        NDArray causal = keyPos.lte(queryPos).reshape(1, 1, queryLength, keyLength); // [1,1,T,K]
        NDArray padding = attentionMask.toType(DataType.BOOLEAN, false).reshape(s.get(0), 1, 1, keyLength); // [B,1,1,K]
        NDArray allowed = padding.logicalAnd(causal); // [B,1,T,K]
        // DJL's where does not broadcast: both branches take the full shape.
        NDArray zero = m.zeros(allowed.getShape(), dtype);
        NDArray masked = m.full(allowed.getShape(), dtype == DataType.FLOAT16 ? MASKED_FLOAT16 : MASKED, dtype);
        return NDArrays.where(allowed, zero, masked);
    }

    /**
     * {@code softmax(q k^T * scale + bias) v}.
     *
     * @param query {@code [B, H, T, d]}
     * @param key {@code [B, H, K, d]}
     * @param value {@code [B, H, K, d]}
     * @param bias {@code [B, 1, T, K]} from {@link #maskBias}
     * @return {@code [B, H, T, d]}
     */
    public static NDArray attend(NDArray query, NDArray key, NDArray value, NDArray bias, float scale, ForwardContext context) {
        return attend(query, key, value, bias, scale, null, context);
    }

    /** As {@link #attend(NDArray, NDArray, NDArray, NDArray, float, ForwardContext)}, with dropout on the attention probabilities (null: none). */
    public static NDArray attend(NDArray query, NDArray key, NDArray value, NDArray bias, float scale, Module probsDropout,
            ForwardContext context) {
        NDArray scores = query.matMul(key.transpose(0, 1, 3, 2)).mul(context.scalar(scale)).add(bias);
        NDArray probs = scores.softmax(-1);
        NDArray captured = probs;
        context.attribute(dev.peft4j.api.model.AttentionCapture.KEY).ifPresent(c -> c.add(captured));
        if (probsDropout != null) {
            probs = probsDropout.forward(probs, context);
        }
        return probs.matMul(value);
    }

    /**
     * Repeats each key/value head {@code groups} times, HF's {@code repeat_kv}: head order
     * {@code kv0, kv0, ..., kv1, kv1, ...}. {@code [B, kvH, K, d] -> [B, kvH * groups, K, d]}.
     */
    public static NDArray repeatKv(NDArray x, long groups) {
        if (groups == 1) {
            return x;
        }
        Shape s = x.getShape();
        return x.expandDims(2)
                .broadcast(new Shape(s.get(0), s.get(1), groups, s.get(2), s.get(3)))
                .reshape(s.get(0), s.get(1) * groups, s.get(2), s.get(3));
    }

    /** {@code [B, T, H * d] -> [B, H, T, d]}. */
    public static NDArray splitHeads(NDArray x, long heads, long headDim) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), s.get(1), heads, headDim).transpose(0, 2, 1, 3);
    }

    /** {@code [B, H, T, d] -> [B, T, H * d]}. */
    public static NDArray mergeHeads(NDArray x) {
        Shape s = x.getShape();
        return x.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), s.get(1) * s.get(3));
    }

    /** Default position ids {@code [B, T]}: {@code past, past + 1, ...} for every row. */
    public static NDArray defaultPositions(long batch, long past, long length, NDManager manager) {
        return manager.arange(past, past + length, 1, DataType.INT64).reshape(1, length).repeat(0, batch);
    }
}
