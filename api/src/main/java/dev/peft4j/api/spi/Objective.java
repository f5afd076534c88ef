package dev.peft4j.api.spi;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;

/** A loss computed from a student's (and optionally a teacher's) outputs. */
public interface Objective {
    /**
     * @param student the trained model's backbone output and head output
     * @param teacher the teacher's, or null for objectives without a teacher
     * @param taskLoss the head's loss on the labels (0-d), or null when there are no labels
     * @return the loss to minimise (0-d)
     */
    NDArray loss(Outputs student, Outputs teacher, NDArray taskLoss, ModelInput input, ForwardContext context);

    /** A model's backbone output plus its head output (logits). */
    record Outputs(ModelOutput backbone, NDArray head) {}
}
