package dev.peft4j.api.model;

/**
 * The geometry of a transformer's self-attention, what prompt-learning methods size their tensors by
 * (PEFT reads the same fields from {@code config.json}).
 *
 * @param layers attention layers ({@code num_hidden_layers}, {@code n_layer})
 * @param heads query heads
 * @param kvHeads key/value heads ({@code num_key_value_heads} with grouped-query attention, else {@code heads})
 * @param headDim size of one head
 * @param hidden model width (the size of one input embedding)
 * @param maxPositions the largest number of positions the model can embed ({@code max_position_embeddings},
 *     {@code n_positions}); virtual tokens count against it where the model shifts positions
 */
public record AttentionShape(int layers, int heads, int kvHeads, int headDim, int hidden, int maxPositions) {
    public AttentionShape {
        if (layers <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || hidden <= 0 || maxPositions <= 0) {
            throw new IllegalArgumentException("attention shape must be positive: " + describe(layers, heads, kvHeads, headDim, hidden));
        }
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kv heads " + kvHeads);
        }
    }

    /** The width of one layer's keys (or values) for one token: {@code kvHeads * headDim} (PEFT's {@code token_dim} for prefix tuning). */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** {@code layers=6 heads=12 kv_heads=12 head_dim=32 hidden=384}: how errors name a shape. */
    public String describe() {
        return describe(layers, heads, kvHeads, headDim, hidden);
    }

    private static String describe(int layers, int heads, int kvHeads, int headDim, int hidden) {
        return "layers=" + layers + " heads=" + heads + " kv_heads=" + kvHeads + " head_dim=" + headDim + " hidden=" + hidden;
    }
}
