package dev.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * HF {@code BertAttention} ({@code encoder.layer.N.attention}): children {@code self}
 * ({@link BertSelfAttention}) and {@code output} ({@link BertResidualOutput}).
 * Inputs {@code hidden [B, S, H]}, additive mask {@code [B, 1, 1, S]}; output {@code [B, S, H]}.
 */
public final class BertAttention extends Module {
    public BertAttention(BertConfig config, NDManager manager) {
        this(config, 0, manager);
    }

    public BertAttention(BertConfig config, int layerIndex, NDManager manager) {
        super(ModuleType.CONTAINER);
        addChild("self", new BertSelfAttention(config, layerIndex, manager));
        addChild("output", new BertResidualOutput(config, manager, config.hiddenSize()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray hidden = inputs.get(0);
        NDList selfInputs = inputs.size() > 1 ? new NDList(hidden, inputs.get(1)) : new NDList(hidden); // mask absent: no padding
        NDArray context0 = child("self").forward(selfInputs, context).get(0);
        return child("output").forward(new NDList(context0, hidden), context);
    }
}
