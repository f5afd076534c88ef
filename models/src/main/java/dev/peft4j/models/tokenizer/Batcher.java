package dev.peft4j.models.tokenizer;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.text.TextTokenizer.Encoding;
import java.util.Arrays;
import java.util.List;

/**
 * Pads encodings (made without padding) to a rectangle: to the longest in the batch, or to a fixed
 * length. Padding goes on the right with the tokenizer's pad id, mask 0 and type id 0.
 */
public final class Batcher {
    private final long padTokenId;

    public Batcher(long padTokenId) {
        this.padTokenId = padTokenId;
    }

    /** Pads to the longest encoding. */
    public Batch pad(List<Encoding> encodings, NDManager manager) {
        requireNonNull(encodings, "encodings is null");
        int longest = encodings.stream().mapToInt(e -> e.ids().length).max().orElse(0);
        return pad(encodings, longest, manager);
    }

    /** Pads to exactly {@code length}; an encoding longer than that is an error (truncate when encoding). */
    public Batch pad(List<Encoding> encodings, int length, NDManager manager) {
        requireNonNull(encodings, "encodings is null");
        requireNonNull(manager, "manager is null");
        if (encodings.isEmpty()) {
            throw new IllegalArgumentException("cannot make a batch of no encodings");
        }
        if (length < 1) {
            throw new IllegalArgumentException("padded length must be positive, got " + length);
        }
        int rows = encodings.size();
        long[] ids = new long[rows * length];
        long[] mask = new long[rows * length];
        long[] types = new long[rows * length];
        Arrays.fill(ids, padTokenId);
        for (int r = 0; r < rows; r++) {
            Encoding e = requireNonNull(encodings.get(r), "encoding " + r + " is null");
            int n = e.ids().length;
            if (n > length) {
                throw new IllegalArgumentException("encoding " + r + " has " + n + " tokens, more than the padded length "
                        + length + "; encode with maxLength <= " + length);
            }
            System.arraycopy(e.ids(), 0, ids, r * length, n);
            for (int i = 0; i < n; i++) {
                mask[r * length + i] = e.attentionMask() == null ? 1 : e.attentionMask()[i];
                types[r * length + i] = e.typeIds() == null ? 0 : e.typeIds()[i];
            }
        }
        Shape shape = new Shape(rows, length);
        return new Batch(manager.create(ids, shape), manager.create(mask, shape), manager.create(types, shape));
    }
}
