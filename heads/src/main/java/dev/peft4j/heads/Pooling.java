package dev.peft4j.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import java.util.List;

/**
 * How a sequence becomes one vector: the first ([CLS]) token, the masked mean, the backbone's pooler,
 * or the last real token (decoders, where only the last position has seen the whole sequence; HF's
 * {@code *ForSequenceClassification} on Llama and GPT-2 does the same). Padding is on the right.
 */
public enum Pooling {
    CLS, MEAN, POOLER, LAST;

    public static final List<String> NAMES = List.of("cls", "mean", "pooler", "last");

    public static Pooling of(String name) {
        return valueOf(name.toUpperCase(java.util.Locale.ROOT));
    }

    /** {@code [batch, hidden]} from {@code lastHiddenState [batch, seq, hidden]}. */
    public NDArray pool(ModelOutput output, ModelInput input) {
        NDArray hidden = output.lastHiddenState();
        switch (this) {
            case CLS:
                return hidden.get(new NDIndex(":, 0, :"));
            case MEAN: {
                // mask [batch, seq, 1] as float, outside the graph; the sum over seq is differentiable in hidden
                NDArray mask = input.attentionMask().toType(DataType.FLOAT32, false).expandDims(-1);
                NDArray counts = mask.sum(new int[] {1}).maximum(1f); // [batch, 1]
                return hidden.mul(mask).sum(new int[] {1}).div(counts);
            }
            case LAST: {
                // one-hot [batch, seq, 1] on each row's last real token (mask sum - 1), outside the graph
                NDArray mask = input.attentionMask();
                long seq = mask.getShape().get(1);
                NDArray last = mask.sum(new int[] {1}).sub(1L).expandDims(1);                       // [batch, 1]
                NDArray positions = mask.getManager().arange(0, (int) seq, 1, DataType.INT64).expandDims(0); // [1, seq]
                NDArray pick = positions.eq(last).toType(hidden.getDataType(), false).expandDims(-1);
                return hidden.mul(pick).sum(new int[] {1});
            }
            case POOLER:
                if (output.pooled() == null) {
                    throw new Peft4jException("head pooling = pooler, but the backbone has no pooler output; use pooling = cls or mean");
                }
                return output.pooled();
            default:
                throw new IllegalStateException(name());
        }
    }
}
