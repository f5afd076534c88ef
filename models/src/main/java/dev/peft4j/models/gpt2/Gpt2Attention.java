package dev.peft4j.models.gpt2;

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
 * GPT-2 attention ({@code attn}): {@code c_attn} (Conv1D {@code [D, 3D]}, q|k|v along the output)
 * and {@code c_proj} (Conv1D {@code [D, D]}). Appends to the {@link KvCache} when the context has one.
 *
 * <p>Inputs: {@code hidden [B, T, D]}, {@code bias [B, 1, T, K]}. Output {@code [B, T, D]}.
 */
public final class Gpt2Attention extends Module {
    private final int layerIndex;
    private final int heads;
    private final int headDim;
    private final float scale;

    Gpt2Attention(Gpt2Config c, int layerIndex, NDManager manager) {
        super(ModuleType.ATTENTION);
        this.layerIndex = layerIndex;
        this.heads = c.nHead();
        this.headDim = c.headDim();
        double s = c.scaleAttnWeights() ? 1.0 / Math.sqrt(headDim) : 1.0;
        if (c.scaleAttnByInverseLayerIdx()) {
            s /= layerIndex + 1;
        }
        this.scale = (float) s;
        addChild("c_attn", new Linear(manager, c.nEmbd(), 3L * c.nEmbd(), true, true));
        addChild("c_proj", new Linear(manager, c.nEmbd(), c.nEmbd(), true, true));
        addChild("attn_dropout", new Dropout(c.attnPdrop()));
        addChild("resid_dropout", new Dropout(c.residPdrop()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray qkv = child("c_attn").forward(inputs.get(0), context); // [B, T, 3D]
        NDList parts = qkv.split(3, 2);
        NDArray q = CausalAttention.splitHeads(parts.get(0), heads, headDim);
        NDArray k = CausalAttention.splitHeads(parts.get(1), heads, headDim);
        NDArray v = CausalAttention.splitHeads(parts.get(2), heads, headDim);
        NDArray capturedKey = k;
        NDArray capturedValue = v;
        context.attribute(KeyValueCapture.KEY).ifPresent(c -> c.record(layerIndex, capturedKey, capturedValue));
        VirtualTokens virtual = context.attribute(VirtualTokens.KEY).orElse(null);
        if (virtual != null && virtual.isPrefix()) {
            k = virtual.pastKeys().get(layerIndex).concat(k, 2); // HF's past_key_values: [B, H, P, d] first
            v = virtual.pastValues().get(layerIndex).concat(v, 2);
        }
        KvCache cache = context.attribute(KvCache.KEY).orElse(null);
        if (cache != null) {
            NDArray[] kv = cache.append(layerIndex, k, v);
            k = kv[0];
            v = kv[1];
        }
        NDArray out = CausalAttention.attend(q, k, v, inputs.get(1), scale, child("attn_dropout"), context);
        NDArray projected = child("c_proj").forward(CausalAttention.mergeHeads(out), context);
        return new NDList(child("resid_dropout").forward(projected, context));
    }
}
