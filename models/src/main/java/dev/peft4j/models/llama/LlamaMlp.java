package dev.peft4j.models.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * SwiGLU feed-forward ({@code mlp}): {@code down_proj(silu(gate_proj(x)) * up_proj(x))}, with
 * {@code silu(x) = x * sigmoid(x)} written out (DJL's {@code swish} multiplies by a Java scalar,
 * which corrupts gradients). {@code [B, T, D] -> [B, T, D]}.
 */
public final class LlamaMlp extends Module {
    LlamaMlp(LlamaConfig c, NDManager manager) {
        super(ModuleType.MLP);
        addChild("gate_proj", new Linear(manager, c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
        addChild("up_proj", new Linear(manager, c.hiddenSize(), c.intermediateSize(), c.mlpBias()));
        addChild("down_proj", new Linear(manager, c.intermediateSize(), c.hiddenSize(), c.mlpBias()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        NDArray gate = child("gate_proj").forward(x, context);
        NDArray up = child("up_proj").forward(x, context);
        NDArray silu = gate.mul(Activation.sigmoid(gate));
        return child("down_proj").forward(silu.mul(up), context);
    }
}
