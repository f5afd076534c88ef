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
 * @param index position in the dataset (extractive QA: of the window; {@link SpanFeature#example()} is the question's)
 * @param span extractive QA: the window's question, character offsets and answer positions; null otherwise
 */
public record EncodedExample(long[] ids, long[] typeIds, int classId, float value, float[] multiHot, long[] tokenLabels,
        long[] wordIds, int words, int index, boolean labelled, SpanFeature span) {
    /**
     * One window of a question and its context (extractive QA): a long context gives several.
     *
     * @param example the question's position in the dataset's source examples
     * @param charStarts per token, its first character in the context; -1 for question and special tokens
     * @param charEnds per token, one past its last character in the context; -1 as above
     * @param start the answer's first token in this window; 0 (the first token) when the answer is not inside it
     * @param end the answer's last token; 0 likewise
     */
    public record SpanFeature(int example, int[] charStarts, int[] charEnds, int start, int end) {}

    public EncodedExample(long[] ids, long[] typeIds, int classId, float value, float[] multiHot, long[] tokenLabels, long[] wordIds,
            int words, int index, boolean labelled) {
        this(ids, typeIds, classId, value, multiHot, tokenLabels, wordIds, words, index, labelled, null);
    }

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
