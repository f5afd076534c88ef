package com.example.peft4j;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * {@code logits = classifier(dropout(mean over real tokens of last_hidden_state))}: modules
 * {@code dropout} and {@code classifier} (HF names, so {@code classifier.weight} is what PEFT's
 * {@code modules_to_save} carries). The classifier is initialised like HF's BERT: normal(0, 0.02)
 * weights, zero bias, from the run's seed.
 */
final class MeanPoolClassifierHead implements dev.peft4j.api.spi.TaskHead {
    private final Map<String, Module> modules = new LinkedHashMap<>();
    private final int numLabels;

    MeanPoolClassifierHead(NDManager manager, int hidden, MeanPoolClassifierConfig config, long seed) {
        this.numLabels = config.numLabels();
        Random random = new Random(seed);
        float[] w = new float[config.numLabels() * hidden];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (random.nextGaussian() * 0.02);
        }
        // created from a Java buffer: duplicate into torch-owned memory and free the buffer-backed one
        NDArray fromJava = manager.create(w, new Shape(config.numLabels(), hidden));
        NDArray weight = fromJava.duplicate();
        fromJava.close();
        NDArray bias = manager.zeros(new Shape(config.numLabels()), DataType.FLOAT32);
        modules.put("dropout", new Dropout((float) config.dropout()));
        modules.put("classifier", new Linear(weight, bias, false));
    }

    @Override
    public Map<String, Module> modules() {
        return modules;
    }

    /** {@code [batch, seq, hidden]} and mask {@code [batch, seq]} to logits {@code [batch, num_labels]}. */
    @Override
    public NDArray forward(ModelOutput backboneOutput, ModelInput input, ForwardContext context) {
        NDArray hidden = backboneOutput.lastHiddenState();
        NDArray mask = input.attentionMask().toType(DataType.FLOAT32, false).expandDims(-1); // [batch, seq, 1], no gradient
        NDArray summed = hidden.mul(mask).sum(new int[] {1}); // [batch, hidden]
        NDArray counts = mask.sum(new int[] {1}).maximum(context.scalar(1f)); // [batch, 1]; torch-owned constant (DJL bug 1)
        NDArray pooled = summed.div(counts);
        return modules.get("classifier").forward(modules.get("dropout").forward(pooled, context), context);
    }

    @Override
    public int numLabels() {
        return numLabels;
    }

    /** Mean cross-entropy of logits {@code [batch, num_labels]} against int64 labels {@code [batch]}. */
    @Override
    public NDArray loss(NDArray output, NDArray labels, ForwardContext context) {
        NDArray logProbabilities = output.logSoftmax(-1);
        NDArray picked = logProbabilities.gather(labels.toType(DataType.INT64, false).reshape(-1, 1), 1); // [batch, 1]
        return picked.mean().neg();
    }
}
