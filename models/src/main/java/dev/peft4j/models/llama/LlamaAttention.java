package dev.peft4j.models.llama;

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
import dev.peft4j.models.generation.CausalAttention;
import dev.peft4j.models.generation.KvCache;

/**
 * Llama self-attention ({@code self_attn}): children {@code q_proj}, {@code k_proj}, {@code v_proj},
 * {@code o_proj}; grouped-query attention with {@code num_key_value_heads}; rotary embeddings on q
 * and k; appends to the {@link KvCache} when the context has one.
 *
 * <p>Inputs: {@code hidden [B, T, D]}, {@code bias [B, 1, T, K]}, {@code cos}, {@code sin}
 * {@code [B, 1, T, headDim]}. Output: {@code [B, T, D]}.
 */
public final class LlamaAttention extends Module {
    private final int layerIndex;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    /** HF applies attention dropout functionally (no module in its tree), so it is not a child here either. */
    private final Dropout attentionDropout;

    LlamaAttention(LlamaConfig c, int layerIndex, NDManager manager) {
        super(ModuleType.ATTENTION);
        this.layerIndex = layerIndex;
        this.heads = c.numAttentionHeads();
        this.kvHeads = c.numKeyValueHeads();
        this.headDim = c.headDim();
        this.attentionDropout = c.attentionDropout() > 0 ? new Dropout(c.attentionDropout()) : null;
        long d = c.hiddenSize();
        addChild("q_proj", new Linear(manager, d, (long) heads * headDim, c.attentionBias()));
        addChild("k_proj", new Linear(manager, d, (long) kvHeads * headDim, c.attentionBias()));
        addChild("v_proj", new Linear(manager, d, (long) kvHeads * headDim, c.attentionBias()));
        addChild("o_proj", new Linear(manager, (long) heads * headDim, d, c.attentionBias()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray hidden = inputs.get(0);
        NDArray bias = inputs.get(1);
        NDArray cos = inputs.get(2);
        NDArray sin = inputs.get(3);
        NDArray q = CausalAttention.splitHeads(child("q_proj").forward(hidden, context), heads, headDim);
        NDArray k = CausalAttention.splitHeads(child("k_proj").forward(hidden, context), kvHeads, headDim);
        NDArray v = CausalAttention.splitHeads(child("v_proj").forward(hidden, context), kvHeads, headDim);
        q = LlamaRotaryEmbedding.apply(q, cos, sin);
        k = LlamaRotaryEmbedding.apply(k, cos, sin);
        NDArray capturedKey = k;
        NDArray capturedValue = v;
        context.attribute(KeyValueCapture.KEY).ifPresent(c -> c.record(layerIndex, capturedKey, capturedValue));
        VirtualTokens virtual = context.attribute(VirtualTokens.KEY).orElse(null);
        if (virtual != null && virtual.isPrefix()) {
            // prefix keys [B, kvHeads, P, d] as stored, no rotary embedding (HF treats them as cached keys)
            k = virtual.pastKeys().get(layerIndex).concat(k, 2);
            v = virtual.pastValues().get(layerIndex).concat(v, 2);
        }
        KvCache cache = context.attribute(KvCache.KEY).orElse(null);
        if (cache != null) {
            NDArray[] kv = cache.append(layerIndex, k, v);
            k = kv[0];
            v = kv[1];
        }
        long groups = heads / kvHeads;
        NDArray out = CausalAttention.attend(q, CausalAttention.repeatKv(k, groups), CausalAttention.repeatKv(v, groups), bias,
                (float) (1.0 / Math.sqrt(headDim)), attentionDropout, context);
        return new NDList(child("o_proj").forward(CausalAttention.mergeHeads(out), context));
    }

    @Override
    protected String extraDescription() {
        return " heads=" + heads + " kv_heads=" + kvHeads + " head_dim=" + headDim;
    }
}
