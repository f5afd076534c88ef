package dev.peft4j.runtime.data;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Plans an epoch's batches. Training: examples are shuffled with a generator seeded by
 * {@code (seed, epoch)}, cut into pools of {@code bucketBatches} batches, each pool sorted by length and
 * cut into batches (so a batch holds similar lengths and pads little), and the batch order shuffled
 * again. The plan depends only on (seed, epoch), so a resumed run replays the same order.
 * Evaluation: sorted by length, no shuffling.
 */
public final class Batcher {
    private final TokenizedDataset dataset;
    private final int batchSize;
    private final int bucketBatches;
    private final long padId;

    public Batcher(TokenizedDataset dataset, int batchSize, int bucketBatches, long padId) {
        this.dataset = requireNonNull(dataset, "dataset is null");
        if (batchSize < 1 || bucketBatches < 1) {
            throw new IllegalArgumentException("batchSize and bucketBatches must be >= 1, got " + batchSize + ", " + bucketBatches);
        }
        this.batchSize = batchSize;
        this.bucketBatches = bucketBatches;
        this.padId = padId;
    }

    public int batchesPerEpoch() {
        return (dataset.size() + batchSize - 1) / batchSize;
    }

    /** The training batches of {@code epoch} (0-based) for {@code seed}. */
    public List<Batch> trainingEpoch(long seed, int epoch) {
        Random random = new Random(seed * 1_000_003L + epoch);
        List<EncodedExample> order = new ArrayList<>(dataset.encoded());
        java.util.Collections.shuffle(order, random);
        int pool = batchSize * bucketBatches;
        List<Batch> batches = new ArrayList<>();
        for (int start = 0; start < order.size(); start += pool) {
            List<EncodedExample> chunk = new ArrayList<>(order.subList(start, Math.min(order.size(), start + pool)));
            // stable sort: equal lengths keep their shuffled order
            chunk.sort(Comparator.comparingInt(EncodedExample::length));
            cut(chunk, batches);
        }
        java.util.Collections.shuffle(batches, random);
        return batches;
    }

    /** All examples in batches sorted by length (each batch remembers its examples' indexes). */
    public List<Batch> evaluation() {
        List<EncodedExample> order = new ArrayList<>(dataset.encoded());
        order.sort(Comparator.comparingInt(EncodedExample::length));
        List<Batch> batches = new ArrayList<>();
        cut(order, batches);
        return batches;
    }

    private void cut(List<EncodedExample> sorted, List<Batch> out) {
        for (int i = 0; i < sorted.size(); i += batchSize) {
            List<EncodedExample> b = List.copyOf(sorted.subList(i, Math.min(sorted.size(), i + batchSize)));
            int max = b.stream().mapToInt(EncodedExample::length).max().orElse(1);
            out.add(new Batch(b, max, padId, dataset.kind()));
        }
    }
}
