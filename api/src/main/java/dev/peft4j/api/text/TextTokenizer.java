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

    String decode(long[] ids, boolean skipSpecialTokens);

    OptionalLong tokenId(String token);

    long padTokenId();

    int vocabSize();

    @Override
    void close();
}
