package dev.peft4j.models.tokenizer;

import static java.util.Objects.requireNonNull;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.text.TextTokenizer;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A {@link TextTokenizer} over an HF {@code tokenizer.json}, through DJL's binding of the Rust
 * {@code tokenizers} library.
 *
 * <p>DJL ignores the padding and truncation sections of {@code tokenizer.json} and truncates at
 * 128 tokens unless told otherwise, so every native tokenizer here is built with explicit options:
 * special tokens added, no padding (batches are padded by {@link Batcher}), and longest-first
 * truncation at the length asked for. A native tokenizer is built once per distinct max length.
 */
public final class HfTextTokenizer implements TextTokenizer {
    private final Path file;
    private final Map<String, Long> vocab;
    private final long padTokenId;
    private final Map<Integer, HuggingFaceTokenizer> byMaxLength = new ConcurrentHashMap<>();
    /** Question/context tokenizers by (max length, stride): second-only truncation with overflowing windows. */
    private final Map<List<Integer>, HuggingFaceTokenizer> windowed = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private HfTextTokenizer(Path file, Map<String, Long> vocab, long padTokenId) {
        this.file = file;
        this.vocab = vocab;
        this.padTokenId = padTokenId;
    }

    /**
     * Opens a {@code tokenizer.json} (or a directory holding one). Fails with the path when it is
     * missing or not a valid tokenizer file.
     */
    public static HfTextTokenizer open(Path path) {
        requireNonNull(path, "path is null");
        Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException("tokenizer file not found: looked for " + file.toAbsolutePath());
        }
        Map<String, Long> vocab = new HashMap<>();
        Long pad = null;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonObject root = JsonParser.parseReader(reader).getAsJsonObject();
            JsonElement model = root.get("model");
            if (model != null && model.isJsonObject() && model.getAsJsonObject().get("vocab") != null
                    && model.getAsJsonObject().get("vocab").isJsonObject()) {
                for (Map.Entry<String, JsonElement> e : model.getAsJsonObject().getAsJsonObject("vocab").entrySet()) {
                    vocab.put(e.getKey(), e.getValue().getAsLong());
                }
            }
            if (root.get("added_tokens") != null && root.get("added_tokens").isJsonArray()) {
                for (JsonElement t : root.getAsJsonArray("added_tokens")) {
                    JsonObject o = t.getAsJsonObject();
                    vocab.put(o.get("content").getAsString(), o.get("id").getAsLong());
                }
            }
            JsonElement padding = root.get("padding");
            if (padding != null && padding.isJsonObject() && padding.getAsJsonObject().has("pad_id")) {
                pad = padding.getAsJsonObject().get("pad_id").getAsLong();
            }
        } catch (IOException | RuntimeException e) {
            throw new Peft4jException("cannot read tokenizer file " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        if (vocab.isEmpty()) {
            throw new Peft4jException("tokenizer file " + file.toAbsolutePath() + " has no vocabulary (model.vocab)");
        }
        if (pad == null) {
            // No padding section: the conventional pad tokens, else id 0 (what BERT and Llama use).
            pad = vocab.getOrDefault("[PAD]", vocab.getOrDefault("<pad>", vocab.getOrDefault("<unk>", 0L)));
        }
        HfTextTokenizer tokenizer = new HfTextTokenizer(file, Map.copyOf(vocab), pad);
        tokenizer.native512(); // fail now, with the file name, if the Rust library rejects the file
        return tokenizer;
    }

    public Path file() {
        return file;
    }

    private HuggingFaceTokenizer native512() {
        return forMaxLength(512);
    }

    private HuggingFaceTokenizer forMaxLength(int maxLength) {
        if (closed) {
            throw new IllegalStateException("tokenizer " + file + " is closed");
        }
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength must be positive, got " + maxLength);
        }
        return byMaxLength.computeIfAbsent(maxLength, n -> {
            try {
                return HuggingFaceTokenizer.builder()
                        .optTokenizerPath(file)
                        .optAddSpecialTokens(true)
                        .optPadding(false)
                        .optTruncation(true)
                        .optMaxLength(n)
                        .build();
            } catch (IOException | RuntimeException e) {
                throw new Peft4jException("cannot load tokenizer " + file.toAbsolutePath() + ": " + e.getMessage(), e);
            }
        });
    }

    @Override
    public Encoding encode(String text, int maxLength) {
        requireNonNull(text, "text is null");
        return convert(forMaxLength(maxLength).encode(bounded(text, maxLength)));
    }

    @Override
    public Encoding encodePair(String first, String second, int maxLength) {
        requireNonNull(first, "first is null");
        requireNonNull(second, "second is null");
        return convert(forMaxLength(maxLength).encode(bounded(first, maxLength), bounded(second, maxLength)));
    }

    /** Characters per token of headroom before a long text is cut (a token is rarely more than a dozen characters). */
    static final int CHARS_PER_TOKEN = 64;

    /**
     * The part of {@code text} the tokenizer needs to give exactly the encoding of the whole text truncated to
     * {@code maxLength}. The native tokenizer tokenises a text in full before truncating it, so a 1 MB line costs its
     * whole tokenisation (280,000 tokens) and, for a pair, HF tokenizers' longest-first truncation runs for minutes at
     * gigabytes (issue #15: {@code encodePair} of two 1 MB lines did not finish in 14 minutes and grew the JVM to 3 GB).
     * A text over {@code CHARS_PER_TOKEN * maxLength} characters is cut at the first whitespace after that many
     * characters (a boundary of every pre-tokenizer peft4j's models use, so the tokens before it are unchanged); the cut
     * is kept only when its own encoding still holds more than {@code maxLength} tokens, which proves the truncated
     * result equals the whole text's (truncation keeps a prefix of each sequence, and each sequence keeps at most
     * {@code maxLength} tokens). Otherwise the cut point doubles, up to the whole text.
     */
    String bounded(String text, int maxLength) {
        long limit = Math.max(1024L, (long) CHARS_PER_TOKEN * maxLength);
        while (text.length() > limit) {
            int cut = nextWhitespace(text, (int) limit);
            if (cut < 0) {
                return text;
            }
            String prefix = text.substring(0, cut);
            if (forMaxLength(maxLength + 1).encode(prefix).getIds().length > maxLength) {
                return prefix;
            }
            limit *= 2;
        }
        return text;
    }

    private static int nextWhitespace(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            if (Character.isWhitespace(text.charAt(i))) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public Encoding encodeWords(List<String> words, int maxLength) {
        requireNonNull(words, "words is null");
        return convert(forMaxLength(maxLength).encode(words));
    }

    @Override
    public List<ContextWindow> encodeWithContext(String question, String context, int maxLength, int stride) {
        requireNonNull(question, "question is null");
        requireNonNull(context, "context is null");
        if (stride < 0 || stride >= maxLength) {
            throw new IllegalArgumentException("stride must be in [0, maxLength), got " + stride + " for maxLength " + maxLength);
        }
        if (closed) {
            throw new IllegalStateException("tokenizer " + file + " is closed");
        }
        HuggingFaceTokenizer tokenizer = windowed.computeIfAbsent(List.of(maxLength, stride), k -> {
            try {
                return HuggingFaceTokenizer.builder()
                        .optTokenizerPath(file)
                        .optAddSpecialTokens(true)
                        .optPadding(false)
                        .optTruncateSecondOnly()
                        .optMaxLength(maxLength)
                        .optStride(stride)
                        .optWithOverflowingTokens(true)
                        .build();
            } catch (IOException | RuntimeException e) {
                throw new Peft4jException("cannot load tokenizer " + file.toAbsolutePath() + ": " + e.getMessage(), e);
            }
        });
        ai.djl.huggingface.tokenizers.Encoding first;
        try {
            first = tokenizer.encode(question, context);
        } catch (RuntimeException e) {
            // the Rust library refuses when the question alone leaves no room for the context
            throw new IllegalArgumentException("cannot fit question and context into " + maxLength + " tokens with stride " + stride + ": "
                    + e.getMessage(), e);
        }
        List<ContextWindow> out = new java.util.ArrayList<>();
        out.add(window(first));
        for (ai.djl.huggingface.tokenizers.Encoding e : first.getOverflowing()) {
            out.add(window(e));
        }
        return out;
    }

    /** Context tokens are those of sequence 1 (the tokenizer's sequence ids); their spans index the context string. */
    private static ContextWindow window(ai.djl.huggingface.tokenizers.Encoding e) {
        long[] sequence = e.getSequenceIds();
        ai.djl.huggingface.tokenizers.jni.CharSpan[] spans = e.getCharTokenSpans();
        long[] special = e.getSpecialTokenMask();
        int n = e.getIds().length;
        int[] starts = new int[n];
        int[] ends = new int[n];
        for (int t = 0; t < n; t++) {
            boolean context = sequence[t] == 1 && special[t] == 0 && spans[t] != null;
            starts[t] = context ? spans[t].getStart() : -1;
            ends[t] = context ? spans[t].getEnd() : -1;
        }
        return new ContextWindow(e.getIds(), e.getTypeIds(), starts, ends);
    }

    private static Encoding convert(ai.djl.huggingface.tokenizers.Encoding e) {
        return new Encoding(e.getIds(), e.getAttentionMask(), e.getTypeIds(), e.getTokens(), e.getWordIds());
    }

    @Override
    public String decode(long[] ids, boolean skipSpecialTokens) {
        requireNonNull(ids, "ids is null");
        return native512().decode(ids, skipSpecialTokens);
    }

    @Override
    public OptionalLong tokenId(String token) {
        Long id = vocab.get(token);
        return id == null ? OptionalLong.empty() : OptionalLong.of(id);
    }

    @Override
    public long padTokenId() {
        return padTokenId;
    }

    @Override
    public int vocabSize() {
        return vocab.values().stream().mapToInt(Long::intValue).max().orElse(-1) + 1;
    }

    @Override
    public void close() {
        closed = true;
        byMaxLength.values().forEach(HuggingFaceTokenizer::close);
        byMaxLength.clear();
        windowed.values().forEach(HuggingFaceTokenizer::close);
        windowed.clear();
    }
}
