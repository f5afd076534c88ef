package dev.peft4j.runtime.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ModelInput;
import java.util.List;

/**
 * A batch padded to its own longest example (dynamic padding). Arrays are created on demand in the
 * caller's (per-step) manager, so they are freed with the step.
 *
 * @param examples the batch's examples, in batch order
 * @param seqLength the padded length
 * @param padId the tokenizer's pad id
 */
public record Batch(List<EncodedExample> examples, int seqLength, long padId, TaskKind kind) {
    public int size() {
        return examples.size();
    }

    /** Input ids, attention mask and token type ids (none for a causal LM), each int64 {@code [batch, seqLength]}. */
    public ModelInput input(NDManager manager) {
        int b = size();
        long[] ids = new long[b * seqLength];
        long[] mask = new long[b * seqLength];
        long[] types = new long[b * seqLength];
        boolean anyTypes = false;
        java.util.Arrays.fill(ids, padId);
        for (int i = 0; i < b; i++) {
            EncodedExample e = examples.get(i);
            int n = e.length();
            System.arraycopy(e.ids(), 0, ids, i * seqLength, n);
            java.util.Arrays.fill(mask, i * seqLength, i * seqLength + n, 1L);
            if (e.typeIds() != null) {
                System.arraycopy(e.typeIds(), 0, types, i * seqLength, n);
                anyTypes = true;
            }
        }
        Shape shape = new Shape(b, seqLength);
        NDArray idArray = manager.create(ids, shape);
        NDArray maskArray = manager.create(mask, shape);
        if (kind == TaskKind.CAUSAL_LM) {
            // decoders have no segments; positions default to 0..T-1, and right padding is masked out
            return new ModelInput(idArray, maskArray, null, null);
        }
        NDArray typeArray = anyTypes ? manager.create(types, shape) : manager.zeros(shape, ai.djl.ndarray.types.DataType.INT64);
        return new ModelInput(idArray, maskArray, typeArray, null);
    }

    /**
     * Labels for the task: int64 {@code [batch]} class ids, float32 {@code [batch]} values, float32
     * {@code [batch, numLabels]} multi-hot, or int64 {@code [batch, seqLength]} token labels (-100 on padding; causal
     * LM: the ids, -100 on prompt and padding, aligned with the input ids), or int64 {@code [batch, 2]} answer start and end
     * positions (extractive QA).
     */
    public NDArray labels(NDManager manager) {
        int b = size();
        switch (kind) {
            case CLASSIFICATION: {
                long[] y = new long[b];
                for (int i = 0; i < b; i++) {
                    y[i] = examples.get(i).classId();
                }
                return manager.create(y);
            }
            case REGRESSION: {
                float[] y = new float[b];
                for (int i = 0; i < b; i++) {
                    y[i] = examples.get(i).value();
                }
                return manager.create(y);
            }
            case MULTI_LABEL: {
                int k = examples.get(0).multiHot().length;
                float[] y = new float[b * k];
                for (int i = 0; i < b; i++) {
                    System.arraycopy(examples.get(i).multiHot(), 0, y, i * k, k);
                }
                return manager.create(y, new Shape(b, k));
            }
            case TOKEN_CLASSIFICATION:
            case CAUSAL_LM: {
                long[] y = new long[b * seqLength];
                java.util.Arrays.fill(y, TokenizedDataset.IGNORE);
                for (int i = 0; i < b; i++) {
                    long[] t = examples.get(i).tokenLabels();
                    System.arraycopy(t, 0, y, i * seqLength, t.length);
                }
                return manager.create(y, new Shape(b, seqLength));
            }
            case QUESTION_ANSWERING: {
                long[] y = new long[b * 2];
                for (int i = 0; i < b; i++) {
                    EncodedExample.SpanFeature s = examples.get(i).span();
                    y[2 * i] = s.start();
                    y[2 * i + 1] = s.end();
                }
                return manager.create(y, new Shape(b, 2));
            }
            default:
                throw new IllegalStateException(kind.toString());
        }
    }

    /** Real (unpadded) tokens in the batch. */
    public long tokens() {
        return examples.stream().mapToLong(EncodedExample::length).sum();
    }
}
