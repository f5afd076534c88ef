package dev.peft4j.models.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.RmsNorm;

/**
 * One pre-norm decoder layer ({@code model.layers.N}): {@code input_layernorm}, {@code self_attn},
 * {@code post_attention_layernorm}, {@code mlp}, each sub-block residual.
 *
 * <p>Inputs: {@code hidden [B, T, D]}, {@code bias}, {@code cos}, {@code sin} (see {@link LlamaAttention}).
 * Output: {@code [B, T, D]}.
 */
public final class LlamaDecoderLayer extends Module {
    LlamaDecoderLayer(LlamaConfig c, int index, NDManager manager) {
        super(ModuleType.LAYER);
        addChild("self_attn", new LlamaAttention(c, index, manager));
        addChild("mlp", new LlamaMlp(c, manager));
        addChild("input_layernorm", new RmsNorm(manager, c.hiddenSize(), c.rmsNormEps()));
        addChild("post_attention_layernorm", new RmsNorm(manager, c.hiddenSize(), c.rmsNormEps()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray hidden = inputs.get(0);
        NDArray normed = child("input_layernorm").forward(hidden, context);
        NDArray attn = child("self_attn").forward(new NDList(normed, inputs.get(1), inputs.get(2), inputs.get(3)), context)
                .singletonOrThrow();
        hidden = hidden.add(attn);
        NDArray mlp = child("mlp").forward(child("post_attention_layernorm").forward(hidden, context), context);
        return new NDList(hidden.add(mlp));
    }
}
