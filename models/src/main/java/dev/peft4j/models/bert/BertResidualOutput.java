package dev.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.LayerNorm;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * HF {@code BertSelfOutput} ({@code attention.output}) and {@code BertOutput} ({@code output}),
 * which have the same shape: children {@code dense}, {@code LayerNorm}, {@code dropout};
 * {@code LayerNorm(dropout(dense(x)) + residual)} (post-LN).
 *
 * <p>Inputs: {@code x [B, S, in]}, {@code residual [B, S, H]}. Output {@code [B, S, H]}.
 */
public final class BertResidualOutput extends Module {
    public BertResidualOutput(BertConfig config, NDManager manager, int inFeatures) {
        super(ModuleType.CONTAINER);
        addChild("dense", new Linear(manager, inFeatures, config.hiddenSize(), true));
        addChild("LayerNorm", new LayerNorm(manager, config.hiddenSize(), (float) config.layerNormEps()));
        addChild("dropout", new Dropout((float) config.hiddenDropoutProb()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray x = child("dense").forward(inputs.get(0), context);
        x = child("dropout").forward(x, context);
        return new NDList(child("LayerNorm").forward(x.add(inputs.get(1)), context));
    }
}
