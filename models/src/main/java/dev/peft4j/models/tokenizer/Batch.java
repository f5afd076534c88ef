package dev.peft4j.models.tokenizer;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.model.ModelInput;

/**
 * A padded batch as int64 tensors {@code [batch, seq]}: {@code inputIds}, {@code attentionMask}
 * (1 real, 0 padding), {@code tokenTypeIds}. The tensors belong to the manager the batch was made in.
 */
public record Batch(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds) {
    public Batch {
        requireNonNull(inputIds, "inputIds is null");
        requireNonNull(attentionMask, "attentionMask is null");
        requireNonNull(tokenTypeIds, "tokenTypeIds is null");
    }

    public ModelInput toModelInput() {
        return new ModelInput(inputIds, attentionMask, tokenTypeIds, null);
    }

    public long batchSize() {
        return inputIds.getShape().get(0);
    }

    public long sequenceLength() {
        return inputIds.getShape().get(1);
    }
}
