package dev.peft4j.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
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

    /**
     * {@code [batch, hidden]} from {@code lastHiddenState [batch, seq, hidden]}, masked with the output's mask
     * ({@link ModelOutput#attentionMask(ModelInput)}: with prompt tuning the virtual tokens come first, and
     * {@code cls} is then the first virtual token's state, as in HF PEFT).
     */
    public NDArray pool(ModelOutput output, ModelInput input, ForwardContext context) {
        NDArray hidden = output.lastHiddenState();
        switch (this) {
            case CLS:
                return hidden.get(new NDIndex(":, 0, :"));
            case MEAN: {
                // mask [batch, seq, 1] as float, outside the graph; the sum over seq is differentiable in hidden
                NDArray mask = output.attentionMask(input).toType(DataType.FLOAT32, false).expandDims(-1);
                NDArray counts = mask.sum(new int[] {1}).maximum(context.scalar(1f)); // [batch, 1]
                return hidden.mul(mask).sum(new int[] {1}).div(counts);
            }
            case LAST: {
                // one-hot [batch, seq, 1] on each row's last real token, outside the graph: the 1-based
                // position equal to the row's real-token count
                NDArray mask = output.attentionMask(input); // with prompt tuning: P leading ones, the virtual tokens
                long seq = mask.getShape().get(1);
                NDArray count = mask.sum(new int[] {1}).expandDims(1);                                   // [batch, 1]
                NDArray positions = mask.getManager().arange(1, (int) seq + 1, 1, DataType.INT64).expandDims(0); // [1, seq]
                NDArray pick = positions.eq(count.toType(DataType.INT64, false)).toType(hidden.getDataType(), false).expandDims(-1);
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
