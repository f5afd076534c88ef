package dev.peft4j.heads;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.TaskHead;
import java.util.Map;

/**
 * One prediction per sequence: pool ([CLS] state, masked mean, or the backbone's pooler), dropout, then
 * {@code classifier}. The loss depends on the task: cross-entropy over classes, MSE for regression
 * (one output), or sigmoid + binary cross-entropy per label (multi-label).
 */
public final class SequenceHead implements TaskHead {
    private final ClassifierModules modules;
    private final HeadConfig config;
    private final LabelKind labelKind;

    SequenceHead(ClassifierModules modules, HeadConfig config, LabelKind labelKind) {
        this.modules = modules;
        this.config = config;
        this.labelKind = labelKind;
    }

    private Module root;

    @Override
    public Map<String, Module> modules() {
        return modules.modules();
    }

    @Override
    public void bind(Module root) {
        this.root = root;
    }

    /** The module by name at the task model's root once bound (it may have been wrapped), else our own. */
    private Module module(String name) {
        return root != null ? root.child(name) : modules.modules().get(name);
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

    @Override
    public int numLabels() {
        return config.numLabels();
    }
}
