package dev.peft4j.models.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.LayerNorm;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * One pre-LN GPT-2 block ({@code transformer.h.N}): {@code ln_1}, {@code attn}, {@code ln_2},
 * {@code mlp}, each sub-block residual. Inputs {@code hidden [B, T, D]}, {@code bias}; output {@code [B, T, D]}.
 */
public final class Gpt2Block extends Module {
    Gpt2Block(Gpt2Config c, int index, NDManager manager) {
        super(ModuleType.LAYER);
        addChild("ln_1", new LayerNorm(manager, c.nEmbd(), c.layerNormEpsilon()));
        addChild("attn", new Gpt2Attention(c, index, manager));
        addChild("ln_2", new LayerNorm(manager, c.nEmbd(), c.layerNormEpsilon()));
        addChild("mlp", new Gpt2Mlp(c, manager));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray hidden = inputs.get(0);
        NDArray attn = child("attn").forward(new NDList(child("ln_1").forward(hidden, context), inputs.get(1)), context)
                .singletonOrThrow();
        hidden = hidden.add(attn);
        return new NDList(hidden.add(child("mlp").forward(child("ln_2").forward(hidden, context), context)));
    }
}
