package dev.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * HF {@code BertLayer} ({@code encoder.layer.N}): children {@code attention}, {@code intermediate},
 * {@code output}. Inputs {@code hidden [B, S, H]}, additive mask {@code [B, 1, 1, S]}; output {@code [B, S, H]}.
 */
public final class BertLayer extends Module {
    public BertLayer(BertConfig config, NDManager manager) {
        this(config, 0, manager);
    }

    /** @param layerIndex this layer's number ({@code encoder.layer.N}), which picks its prefix keys/values */
    public BertLayer(BertConfig config, int layerIndex, NDManager manager) {
        super(ModuleType.LAYER);
        addChild("attention", new BertAttention(config, layerIndex, manager));
        addChild("intermediate", new BertIntermediate(config, manager));
        addChild("output", new BertResidualOutput(config, manager, config.intermediateSize()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray attended = child("attention").forward(inputs, context).get(0);
        NDArray inner = child("intermediate").forward(attended, context);
        return child("output").forward(new NDList(inner, attended), context);
    }
}
