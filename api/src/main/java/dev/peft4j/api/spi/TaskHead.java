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

    /**
     * Called by the host once {@link #modules()} sit at the task model's {@code root}. A head should
     * look its modules up there by name at forward time ({@code root.child("classifier")}), so that a
     * method that replaces them (PEFT's {@code modules_to_save} wrappers) takes effect.
     */
    default void bind(Module root) {}

    /** Head output (logits or scores) from the backbone's output. */
    NDArray forward(ModelOutput backboneOutput, ModelInput input, ForwardContext context);

    /** The training loss (a 0-d tensor) of {@code output} against {@code labels}. */
    NDArray loss(NDArray output, NDArray labels, ForwardContext context);

    /**
     * The labels {@link #loss} expects, so the host can encode them: {@code CLASS_ID} int64 {@code [batch]};
     * {@code VALUE} float32 {@code [batch]}; {@code MULTI_HOT} float32 {@code [batch, numLabels]};
     * {@code TOKEN_CLASS_IDS} int64 {@code [batch, seq]} with -100 where ignored; {@code NONE} (the head
     * derives its targets from the input, as a causal LM does); {@code SPAN} int64 {@code [batch, 2]}, the start and end
     * token positions of the answer (both 0, the first token, when the answer is not in the input: SQuAD 2.0's rule).
     */
    enum LabelKind { CLASS_ID, VALUE, MULTI_HOT, TOKEN_CLASS_IDS, NONE, SPAN }

    /**
     * How the host cuts inputs and reads answers for a {@link LabelKind#SPAN} head (extractive QA).
     *
     * @param docStride context tokens shared by consecutive windows of a long context
     * @param maxAnswerLength the longest answer in tokens that is predicted
     * @param nBest how many start and end candidates are combined per window
     * @param allowNoAnswer whether "no answer" (SQuAD 2.0) is predicted when the first token's score beats every span's
     */
    record SpanOptions(int docStride, int maxAnswerLength, int nBest, boolean allowNoAnswer) {}

    /** For a {@link LabelKind#SPAN} head: its windowing and decoding options; empty for every other head. */
    default java.util.Optional<SpanOptions> spanOptions() {
        return java.util.Optional.empty();
    }

    default LabelKind labelKind() {
        return LabelKind.CLASS_ID;
    }

    /** How many outputs the head has per example (or per token): classes, 1 for regression, labels for multi-label. */
    default int numLabels() {
        return 0;
    }
}
