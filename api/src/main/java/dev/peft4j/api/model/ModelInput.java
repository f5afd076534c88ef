package dev.peft4j.api.model;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;

/**
 * One batch of token ids. {@code inputIds}, {@code attentionMask}: int64 {@code [batch, seq]}, mask 1 for
 * real tokens and 0 for padding. {@code tokenTypeIds} (encoders, sentence pairs) and {@code positionIds}
 * (decoders with a KV cache) may be null.
 */
public record ModelInput(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, NDArray positionIds) {
    public ModelInput {
        requireNonNull(inputIds, "inputIds is null");
        requireNonNull(attentionMask, "attentionMask is null");
    }

    public ModelInput(NDArray inputIds, NDArray attentionMask) {
        this(inputIds, attentionMask, null, null);
    }
}
