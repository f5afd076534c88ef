package dev.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.model.KeyValueCapture;
import dev.peft4j.api.model.VirtualTokens;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * HF {@code BertSelfAttention} ({@code attention.self}): children {@code query}, {@code key},
 * {@code value} (Linear H to H) and {@code dropout} (on the attention probabilities).
 *
 * <p>Inputs: {@code hidden [B, S, H]} and an additive mask {@code [B, 1, 1, S]} (0 for real keys,
 * a large negative number for padded ones). Output: the context {@code [B, S, H]} (before
 * {@code attention.output.dense}). Plain matmul + softmax: DJL exposes no fused attention.
 */
public final class BertSelfAttention extends Module {
    private final int numHeads;
    private final int headDim;
    private final int layerIndex;

    public BertSelfAttention(BertConfig config, NDManager manager) {
        this(config, 0, manager);
    }

    /** @param layerIndex the layer's number: its keys/values in a {@link VirtualTokens} prefix */
    public BertSelfAttention(BertConfig config, int layerIndex, NDManager manager) {
        super(ModuleType.ATTENTION);
        this.layerIndex = layerIndex;
        this.numHeads = config.numAttentionHeads();
        this.headDim = config.headDim();
        addChild("query", new Linear(manager, config.hiddenSize(), config.hiddenSize(), true));
        addChild("key", new Linear(manager, config.hiddenSize(), config.hiddenSize(), true));
        addChild("value", new Linear(manager, config.hiddenSize(), config.hiddenSize(), true));
        addChild("dropout", new Dropout((float) config.attentionProbsDropoutProb()));
    }

    public int numHeads() {
        return numHeads;
    }

    public int headDim() {
        return headDim;
    }

    /**
     * Inputs: {@code hidden [B, S, H]} and, optionally, the additive mask {@code [B, 1, 1, S]}; without
     * it (a batch with no padding) every key is attended.
     */
    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray hidden = inputs.get(0);
        NDArray additiveMask = inputs.size() > 1 ? inputs.get(1) : null;
        long batch = hidden.getShape().get(0);
        long seq = hidden.getShape().get(1);
        // q / sqrt(hd) on [B, S, H] rather than the scores [B, nh, S, S] (S / hd times fewer elements);
        // the scale is a torch-owned constant (DJL scalar-op bug).
        NDArray query = child("query").forward(hidden, context).mul(context.scalar((float) (1.0 / Math.sqrt(headDim))));
        NDArray q = heads(query, batch, seq); // [B, nh, S, hd]
        NDArray k = heads(child("key").forward(hidden, context), batch, seq);
        NDArray v = heads(child("value").forward(hidden, context), batch, seq);
        NDArray capturedKey = k;
        NDArray capturedValue = v;
        context.attribute(KeyValueCapture.KEY).ifPresent(c -> c.record(layerIndex, capturedKey, capturedValue));
        VirtualTokens virtual = context.attribute(VirtualTokens.KEY).orElse(null);
        if (virtual != null && virtual.isPrefix()) {
            // HF's past_key_values: the prefix's keys [B, nh, P, hd] come before the input's; the mask covers P + S keys
            k = virtual.pastKeys().get(layerIndex).concat(k, 2);
            v = virtual.pastValues().get(layerIndex).concat(v, 2);
        }
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // [B, nh, S, P + S]
        NDArray probs = (additiveMask == null ? scores : scores.add(additiveMask)).softmax(-1);
        NDArray captured = probs;
        context.attribute(dev.peft4j.api.model.AttentionCapture.KEY).ifPresent(c -> c.add(captured));
        probs = child("dropout").forward(probs, context);
        NDArray ctx = probs.matMul(v); // [B, nh, S, hd]
        return new NDList(ctx.transpose(0, 2, 1, 3).reshape(batch, seq, (long) numHeads * headDim));
    }

    /** [B, S, H] to [B, nh, S, hd]. */
    private NDArray heads(NDArray x, long batch, long seq) {
        return x.reshape(batch, seq, numHeads, headDim).transpose(0, 2, 1, 3);
    }

    @Override
    protected String extraDescription() {
        return " heads=" + numHeads + " head_dim=" + headDim;
    }
}
