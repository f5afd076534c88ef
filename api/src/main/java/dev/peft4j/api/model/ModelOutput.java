package dev.peft4j.api.model;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * What a backbone's forward pass produces. {@code lastHiddenState} {@code [batch, seq, hidden]} always;
 * {@code pooled} {@code [batch, hidden]} for encoders with a pooler, else null; {@code logits}
 * {@code [batch, seq, vocab]} for models with a language-model head, else null; {@code hiddenStates}
 * (embeddings output then each layer's output) when requested through the context, else empty.
 * {@code attentionMask} {@code [batch, seq]} says which output positions are real when they are not the
 * input's (prompt tuning prepends virtual tokens, which count as real); null means the input's mask.
 */
public record ModelOutput(NDArray lastHiddenState, NDArray pooled, NDArray logits, List<NDArray> hiddenStates, NDArray attentionMask) {
    public ModelOutput {
        requireNonNull(lastHiddenState, "lastHiddenState is null");
        hiddenStates = hiddenStates == null ? List.of() : List.copyOf(hiddenStates);
    }

    /** An output whose positions are the input's. */
    public ModelOutput(NDArray lastHiddenState, NDArray pooled, NDArray logits, List<NDArray> hiddenStates) {
        this(lastHiddenState, pooled, logits, hiddenStates, null);
    }

    /** The mask of the output positions: {@link #attentionMask()}, or the input's when that is null. Heads pool with this. */
    public NDArray attentionMask(ModelInput input) {
        return attentionMask != null ? attentionMask : input.attentionMask();
    }

    /** How many positions the model put before the input's (prompt tuning's virtual tokens); 0 otherwise. */
    public long virtualPositions(ModelInput input) {
        return lastHiddenState.getShape().get(1) - input.inputIds().getShape().get(1);
    }
}
