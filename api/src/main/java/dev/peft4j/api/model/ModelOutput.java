package dev.peft4j.api.model;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import java.util.List;

/**
 * What a backbone's forward pass produces. {@code lastHiddenState} {@code [batch, seq, hidden]} always;
 * {@code pooled} {@code [batch, hidden]} for encoders with a pooler, else null; {@code logits}
 * {@code [batch, seq, vocab]} for models with a language-model head, else null; {@code hiddenStates}
 * (embeddings output then each layer's output) when requested through the context, else empty.
 */
public record ModelOutput(NDArray lastHiddenState, NDArray pooled, NDArray logits, List<NDArray> hiddenStates) {
    public ModelOutput {
        requireNonNull(lastHiddenState, "lastHiddenState is null");
        hiddenStates = hiddenStates == null ? List.of() : List.copyOf(hiddenStates);
    }
}
