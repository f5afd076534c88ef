package dev.peft4j.models.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.text.TextTokenizer.Encoding;
import dev.peft4j.models.Engines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Expected ids come from the HF tokenizers library (tools/bert/make_tiny_tokenizer.py prints them). */
class HfTextTokenizerTest {
    static final Path TINY_BERT = Path.of("src/test/resources/tiny-bert/model/tokenizer.json");

    @Test
    void encodesSingleTextLikeHfTokenizers() {
        try (HfTextTokenizer tok = HfTextTokenizer.open(TINY_BERT)) {
            Encoding e = tok.encode("Hello, world! The dogs are playing.", 64);
            assertThat(e.ids()).containsExactly(2, 38, 21, 39, 22, 5, 8, 16, 41, 19, 17, 20, 3);
            assertThat(e.tokens()).containsExactly("[CLS]", "hello", ",", "world", "!", "the", "dog", "##s", "are",
                    "play", "##ing", ".", "[SEP]");
            assertThat(e.attentionMask()).containsOnly(1L).hasSize(13);
            assertThat(e.typeIds()).containsOnly(0L);
            assertThat(tok.padTokenId()).isZero();
            assertThat(tok.vocabSize()).isEqualTo(60);
            assertThat(tok.tokenId("[SEP]")).hasValue(3);
            assertThat(tok.tokenId("zebra")).isEmpty();
            assertThat(tok.decode(e.ids(), true)).isEqualTo("hello, world! the dogs are playing.");
        }
    }

    @Test
    void pairsCarryTypeIdsAndTruncationKeepsSpecialTokens() {
        try (HfTextTokenizer tok = HfTextTokenizer.open(TINY_BERT)) {
            Encoding pair = tok.encodePair("The quick brown fox", "jumped over the lazy dog!", 64);
            assertThat(pair.ids()).containsExactly(2, 5, 55, 56, 57, 3, 50, 18, 59, 5, 58, 8, 22, 3);
            assertThat(pair.typeIds()).containsExactly(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
            // longest-first truncation to 8 (HF tokenizers with enable_truncation(8) gives exactly this)
            Encoding cut = tok.encodePair("The quick brown fox", "jumped over the lazy dog!", 8);
            assertThat(cut.ids()).containsExactly(2, 5, 55, 3, 50, 18, 59, 3);
            assertThat(cut.typeIds()).containsExactly(0, 0, 0, 0, 1, 1, 1, 1);
            Encoding single = tok.encode("the cat sat on the mat and the dog sat on the mat", 6);
            assertThat(single.ids()).containsExactly(2, 5, 7, 9, 10, 3);
            // DJL's default cut is 128: asking for more must give more
            String longText = "the cat sat on the mat . ".repeat(40);
            assertThat(tok.encode(longText, 512).ids()).hasSize(2 + 7 * 40);
        }
    }

    /**
     * Issue #15: a 1 MB single line is truncated by the tokenizer's own truncation, exactly as the whole line would be,
     * without tokenising all of it: a pair of 1 MB lines used to run for more than 14 minutes and grow the JVM to 3 GB in
     * HF tokenizers' longest-first truncation.
     */
    @Test
    @org.junit.jupiter.api.Timeout(120)
    void aOneMegabyteLineIsTruncatedByTheTokenizerWithoutTokenisingAllOfIt() {
        try (HfTextTokenizer tok = HfTextTokenizer.open(TINY_BERT)) {
            String huge = "the cat sat on the mat . ".repeat(40_000); // 1,000,000 characters, 280,000 tokens
            assertThat(huge).hasSize(1_000_000);
            Encoding cut = tok.encode(huge, 32);
            assertThat(cut.ids()).hasSize(32).startsWith(2).endsWith(3);
            // exactly what truncating a short prefix gives
            assertThat(cut.ids()).containsExactly(tok.encode("the cat sat on the mat . ".repeat(10), 32).ids());
            assertThat(tok.bounded(huge, 32)).hasSizeLessThan(4_200);
            // a pair: each side keeps what longest-first truncation of the whole lines keeps
            Encoding pair = tok.encodePair(huge, "dogs are playing " + huge, 16);
            assertThat(pair.ids()).hasSize(16).containsExactly(tok.encodePair("the cat sat on the mat . ".repeat(10),
                    "dogs are playing " + "the cat sat on the mat . ".repeat(10), 16).ids());
            // a long text with few tokens (one 2,000-character word is one [UNK]) is not cut: the cut would change the result
            String word = "x".repeat(2_000) + " ";
            String fewTokens = word.repeat(10);
            assertThat(tok.bounded(fewTokens, 32)).isEqualTo(fewTokens);
            // a long line without whitespace goes whole
            assertThat(tok.bounded("y".repeat(5_000), 32)).hasSize(5_000);
        }
    }

    @Test
    void wordsMapToWordIds() {
        try (HfTextTokenizer tok = HfTextTokenizer.open(TINY_BERT)) {
            Encoding e = tok.encodeWords(List.of("walking", "cats", "zebra"), 64);
            assertThat(e.ids()).containsExactly(2, 51, 17, 7, 16, 1, 3);
            assertThat(e.wordIds()).containsExactly(-1, 0, 0, 1, 1, 2, -1);
        }
    }

    @Test
    void batcherPadsToLongestAndToFixedLength() {
        Engines.pytorch();
        try (HfTextTokenizer tok = HfTextTokenizer.open(TINY_BERT); NDManager m = NDManager.newBaseManager()) {
            Batcher batcher = new Batcher(tok.padTokenId());
            List<Encoding> encodings = List.of(tok.encode("The cat sat.", 32), tok.encodePair("a dog", "it was good", 32));
            Batch b = batcher.pad(encodings, m);
            assertThat(b.inputIds().getShape()).isEqualTo(new Shape(2, 8));
            assertThat(b.inputIds().toLongArray()).containsExactly(2, 5, 7, 9, 20, 3, 0, 0, 2, 6, 8, 3, 24, 25, 34, 3);
            assertThat(b.attentionMask().toLongArray()).containsExactly(1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
            assertThat(b.tokenTypeIds().toLongArray()).containsExactly(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1);
            Batch fixed = batcher.pad(encodings, 10, m);
            assertThat(fixed.sequenceLength()).isEqualTo(10);
            assertThat(fixed.attentionMask().sum().getLong()).isEqualTo(14);
            assertThatThrownBy(() -> batcher.pad(encodings, 5, m)).hasMessageContaining("encoding 0 has 6 tokens");
        }
    }

    @Test
    void meanPoolingIgnoresPaddingAndNormalises() {
        Engines.pytorch();
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray hidden = m.create(new float[] {3, 4, 100, 100, 1, 0, 1, 2}, new Shape(2, 2, 2));
            NDArray mask = m.create(new long[][] {{1, 0}, {1, 1}});
            NDArray v = SentenceEmbeddings.meanPooledNormalized(new ModelOutput(hidden, null, null, null), mask);
            // row 0: mean (3,4) -> (0.6, 0.8); row 1: mean (1,1) -> (0.7071, 0.7071)
            assertThat(v.toFloatArray()).containsExactly(new float[] {0.6f, 0.8f, 0.70710677f, 0.70710677f},
                    org.assertj.core.data.Offset.offset(1e-6f));
        }
    }

    @Test
    void missingFileNamesThePath(@TempDir Path dir) {
        assertThatThrownBy(() -> HfTextTokenizer.open(dir)).isInstanceOf(Peft4jException.class)
                .hasMessageContaining(dir.resolve("tokenizer.json").toAbsolutePath().toString());
    }

    @Test
    void tinyStoriesTokenizerReproducesReferenceIds() {
        String data = java.util.Optional.of(System.getProperty("peft4j.data", "")).filter(p -> !p.isBlank()).map(p -> java.nio.file.Path.of(System.getProperty("peft4j.root", "")).resolve(p).normalize().toString()).orElse("");
        Path file = Path.of(data.isEmpty() ? "/nonexistent" : data, "tinystories-260k", "tokenizer.json");
        Assumptions.assumeTrue(!data.isEmpty() && Files.isRegularFile(file), "peft4j.data not set or tinystories-260k missing");
        try (HfTextTokenizer tok = HfTextTokenizer.open(file)) {
            Encoding e = tok.encode("Once upon a time, there was a little girl named Lily.", 512);
            assertThat(e.ids()).containsExactly(1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426);
            assertThat(tok.vocabSize()).isEqualTo(512);
        }
    }

    @Test
    void questionWithLongContextIsCutIntoOverlappingWindowsWithCharacterOffsets() {
        try (HfTextTokenizer tok = HfTextTokenizer.open(TINY_BERT)) {
            String context = "The cat sat on the mat and the dog sat on the mat. The dogs are playing.";
            List<dev.peft4j.api.text.TextTokenizer.ContextWindow> windows = tok.encodeWithContext("the dog", context, 12, 3);
            // question: [CLS] the dog [SEP] = 4 tokens, so each window holds 12 - 4 - 1 = 7 context tokens, 3 shared with the previous
            assertThat(windows).hasSizeGreaterThan(2);
            List<Integer> firstContextToken = new java.util.ArrayList<>();
            for (dev.peft4j.api.text.TextTokenizer.ContextWindow w : windows) {
                assertThat(w.ids().length).isLessThanOrEqualTo(12);
                assertThat(w.ids()[0]).isEqualTo(2L); // [CLS]
                assertThat(w.ids()[w.ids().length - 1]).isEqualTo(3L); // [SEP]
                assertThat(w.inContext(1)).isFalse();
                int first = -1;
                for (int t = 0; t < w.ids().length; t++) {
                    if (w.inContext(t)) {
                        first = first < 0 ? w.charStarts()[t] : first;
                        String piece = context.substring(w.charStarts()[t], w.charEnds()[t]).toLowerCase(java.util.Locale.ROOT);
                        String token = tok.decode(new long[] {w.ids()[t]}, true).replace("##", "");
                        assertThat(piece).isEqualTo(token.replace(" ", ""));
                        assertThat(w.typeIds()[t]).isEqualTo(1L);
                    }
                }
                firstContextToken.add(first);
            }
            // window 2 starts 4 context tokens (7 - 3) after window 1: "the cat sat on | the mat and ..." -> "the" at 15
            assertThat(firstContextToken.get(0)).isZero();
            assertThat(firstContextToken.get(1)).isEqualTo(context.indexOf("the mat"));
            // the last window reaches the context's end
            dev.peft4j.api.text.TextTokenizer.ContextWindow last = windows.get(windows.size() - 1);
            assertThat(last.charEnds()[last.ids().length - 2]).isEqualTo(context.length());
        }
    }
}
