package dev.peft4j.api.spi;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import java.util.Map;

/**
 * A head on top of a backbone. Its modules sit at the task model's root beside the backbone, under
 * HuggingFace names ({@code classifier}, {@code dropout}, {@code qa_outputs}), so that
 * {@code classifier.weight} travels in PEFT's {@code modules_to_save}.
 */
public interface TaskHead {
    /** The head's modules by local name at the task-model root, in order. */
    Map<String, Module> modules();

    /** Head output (logits or scores) from the backbone's output. */
    NDArray forward(ModelOutput backboneOutput, ModelInput input, ForwardContext context);

    /** The training loss (a 0-d tensor) of {@code output} against {@code labels}. */
    NDArray loss(NDArray output, NDArray labels, ForwardContext context);
}
