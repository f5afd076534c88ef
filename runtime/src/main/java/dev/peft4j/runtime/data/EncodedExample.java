package dev.peft4j.runtime.data;

/**
 * One tokenised example, kept for the whole run (tokenise once). Unused parts are null.
 *
 * @param ids token ids with special tokens, unpadded
 * @param typeIds segment ids (pairs), or null
 * @param classId class id (classification); -1 when unlabelled
 * @param value regression target
 * @param multiHot multi-label targets [numLabels] of 0/1
 * @param tokenLabels per-token class ids, -100 where ignored (specials, non-first sub-tokens); causal LM: the
 *     ids themselves, -100 on prompt tokens (aligned with {@code ids}: the loss shifts)
 * @param wordIds per-token word index (-1 for specials), token classification only
 * @param words word count of the source sentence (token classification)
 * @param index position in the dataset
 */
public record EncodedExample(long[] ids, long[] typeIds, int classId, float value, float[] multiHot, long[] tokenLabels,
        long[] wordIds, int words, int index, boolean labelled) {
    public int length() {
        return ids.length;
    }

    /** Causal LM: how many next-token targets this example has (labels after the first that are not -100). */
    public long targetCount() {
        long n = 0;
        for (int t = 1; tokenLabels != null && t < tokenLabels.length; t++) {
            n += tokenLabels[t] == TokenizedDataset.IGNORE ? 0 : 1;
        }
        return n;
    }
}
