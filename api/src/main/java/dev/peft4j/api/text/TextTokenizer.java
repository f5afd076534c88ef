package dev.peft4j.api.text;

import java.util.List;
import java.util.OptionalLong;

/**
 * A model's tokenizer. Implementations come from the model directory's {@code tokenizer.json}.
 */
public interface TextTokenizer extends AutoCloseable {
    /** One encoded text or text pair, with special tokens as the model expects them. */
    record Encoding(long[] ids, long[] attentionMask, long[] typeIds, String[] tokens, long[] wordIds) {}

    /** Encodes one text (no padding), truncated to {@code maxLength} tokens (special tokens included). */
    Encoding encode(String text, int maxLength);

    /** Encodes a sentence pair; type ids are 0 for the first segment and 1 for the second. */
    Encoding encodePair(String first, String second, int maxLength);

    /** Encodes pre-split words (token classification); {@link Encoding#wordIds()} maps tokens to words, -1 for specials. */
    Encoding encodeWords(List<String> words, int maxLength);

    /**
     * One window of a question/context pair for extractive QA: the token ids with special tokens, segment ids, and for each
     * token its character span {@code [charStarts[t], charEnds[t])} in the context, or -1/-1 for question and special tokens.
     */
    record ContextWindow(long[] ids, long[] typeIds, int[] charStarts, int[] charEnds) {
        /** Whether token {@code t} is a context token. */
        public boolean inContext(int t) {
            return charStarts[t] >= 0;
        }
    }

    /**
     * Encodes a question with a context that may be longer than {@code maxLength}: only the context is truncated, and it
     * is cut into overlapping windows, each sharing {@code stride} context tokens with the previous one (HF tokenizers'
     * {@code stride}, as in transformers' {@code run_qa.py}); every window is {@code question + context window} with the
     * model's special tokens. Character spans are offsets into {@code context} (the tokenizer's offsets).
     *
     * @throws UnsupportedOperationException when the tokenizer cannot give character offsets
     */
    default java.util.List<ContextWindow> encodeWithContext(String question, String context, int maxLength, int stride) {
        throw new UnsupportedOperationException(getClass().getName() + " does not give character offsets (extractive QA needs them)");
    }

    String decode(long[] ids, boolean skipSpecialTokens);

    OptionalLong tokenId(String token);

    long padTokenId();

    int vocabSize();

    @Override
    void close();
}
