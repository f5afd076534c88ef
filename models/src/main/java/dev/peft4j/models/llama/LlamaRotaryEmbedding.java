package dev.peft4j.models.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Rotary position embeddings in HF's {@code rotate_half} convention: dimension {@code i} pairs
 * with {@code i + d/2}. {@code cos}/{@code sin} are {@code cat(freqs, freqs)} with
 * {@code freqs = position * inv_freq}, computed in float32 like HF.
 */
final class LlamaRotaryEmbedding {
    private final float[] invFreq;

    LlamaRotaryEmbedding(LlamaConfig config) {
        this.invFreq = inverseFrequencies(config);
    }

    static float[] inverseFrequencies(LlamaConfig config) {
        int dim = config.headDim();
        float[] inv = new float[dim / 2];
        for (int i = 0; i < inv.length; i++) {
            float exponent = (float) (2 * i) / dim;
            inv[i] = 1f / (float) Math.pow(config.ropeTheta(), exponent);
        }
        LlamaConfig.RopeScaling scaling = config.ropeScaling();
        if (scaling == null) {
            return inv;
        }
        if (scaling.type().equals("linear")) {
            for (int i = 0; i < inv.length; i++) {
                inv[i] = (float) (inv[i] / scaling.factor());
            }
            return inv;
        }
        // llama3 (transformers _compute_llama3_parameters): long wavelengths are divided by the
        // factor, short ones kept, medium ones interpolated.
        double oldContext = scaling.originalMaxPositions();
        double lowFreqWavelen = oldContext / scaling.lowFreqFactor();
        double highFreqWavelen = oldContext / scaling.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            double f = inv[i];
            double wavelen = 2 * Math.PI / f;
            double scaled = wavelen > lowFreqWavelen ? f / scaling.factor() : f;
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium) {
                double smooth = (oldContext / wavelen - scaling.lowFreqFactor()) / (scaling.highFreqFactor() - scaling.lowFreqFactor());
                scaled = (1 - smooth) * scaled / scaling.factor() + smooth * scaled;
            }
            inv[i] = (float) scaled;
        }
        return inv;
    }

    /**
     * @param positionIds int64 {@code [B, T]}
     * @return {@code cos, sin}, each {@code [B, 1, T, headDim]} (broadcast over heads)
     */
    NDList cosSin(NDArray positionIds, NDManager manager) {
        long b = positionIds.getShape().get(0);
        long t = positionIds.getShape().get(1);
        NDArray inv = manager.create(invFreq).reshape(1, invFreq.length);
        NDArray freqs = positionIds.toType(DataType.FLOAT32, false).reshape(b * t, 1).matMul(inv).reshape(b, t, invFreq.length);
        NDArray emb = freqs.concat(freqs, -1);
        return new NDList(emb.cos().expandDims(1), emb.sin().expandDims(1));
    }

    /** {@code x * cos + rotate_half(x) * sin} with {@code rotate_half(x) = cat(-x2, x1)}; x {@code [B, H, T, d]}. */
    static NDArray apply(NDArray x, NDArray cos, NDArray sin) {
        long half = x.getShape().get(3) / 2;
        NDList halves = x.split(new long[] {half}, 3);
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }
}
