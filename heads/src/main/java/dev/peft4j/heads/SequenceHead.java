package dev.peft4j.heads;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;

/**
 * One prediction per sequence: pool ([CLS] state, masked mean, or the backbone's pooler), dropout, then
 * {@code classifier}. The loss depends on the task: cross-entropy over classes, MSE for regression
 * (one output), or sigmoid + binary cross-entropy per label (multi-label).
 */
public final class SequenceHead extends ClassifierHead {
    private final LabelKind labelKind;

    SequenceHead(ClassifierModules modules, HeadConfig config, LabelKind labelKind) {
        super(modules, config);
        this.labelKind = labelKind;
    }

    /** Logits {@code [batch, numLabels]} (regression: {@code [batch, 1]}). */
    @Override
    public NDArray forward(ModelOutput backboneOutput, ModelInput input, ForwardContext context) {
        NDArray pooled = config.pooling().pool(backboneOutput, input, context);
        return module("classifier").forward(module("dropout").forward(pooled, context), context);
    }

    @Override
    public NDArray loss(NDArray output, NDArray labels, ForwardContext context) {
        return switch (labelKind) {
            case VALUE -> Losses.meanSquaredError(output, labels, context);
            case MULTI_HOT -> Losses.binaryCrossEntropyWithLogits(output, labels, context);
            default -> Losses.crossEntropy(output, labels, context);
        };
    }

    @Override
    public LabelKind labelKind() {
        return labelKind;
    }
}
