package dev.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * HF {@code BertIntermediate}: child {@code dense} (H to I), then erf GELU (torch's default
 * {@code gelu}, which is HF's {@code "gelu"}). {@code [B, S, H]} to {@code [B, S, I]}.
 */
public final class BertIntermediate extends Module {
    public BertIntermediate(BertConfig config, NDManager manager) {
        super(ModuleType.MLP);
        addChild("dense", new Linear(manager, config.hiddenSize(), config.intermediateSize(), true));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        return Activation.gelu(child("dense").forward(x, context));
    }
}
