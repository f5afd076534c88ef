package dev.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Activation;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/** HF {@code BertPooler}: {@code tanh(dense(hidden[:, 0]))}, {@code [B, S, H]} to {@code [B, H]}. Child {@code dense}. */
public final class BertPooler extends Module {
    public BertPooler(BertConfig config, NDManager manager) {
        super(ModuleType.POOLER);
        addChild("dense", new Linear(manager, config.hiddenSize(), config.hiddenSize(), true));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.get(0), context));
    }

    @Override
    public NDArray forward(NDArray hidden, ForwardContext context) {
        NDArray first = hidden.get(":, 0, :"); // [B, H]
        return Activation.tanh(child("dense").forward(first, context));
    }
}
