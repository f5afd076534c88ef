package dev.peft4j.runtime.data;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.api.text.TextTokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A dataset tokenised once, with labels encoded for the task. Examples keep their source rows (for
 * predictions and error messages).
 */
public final class TokenizedDataset {
    /** Label id for positions the loss ignores (PyTorch's default {@code ignore_index}). */
    public static final long IGNORE = -100;

    private final List<Example> examples;
    private final List<EncodedExample> encoded;
    private final TaskKind kind;
    private final LabelVocabulary vocabulary;

    private TokenizedDataset(List<Example> examples, List<EncodedExample> encoded, TaskKind kind, LabelVocabulary vocabulary) {
        this.examples = examples;
        this.encoded = encoded;
        this.kind = kind;
        this.vocabulary = vocabulary;
    }

    /** The labels seen in {@code examples} (the {@code label} field, or every tag; multi-label split on commas). */
    public static Set<String> labelsIn(List<Example> examples, TaskKind kind) {
        Set<String> seen = new LinkedHashSet<>();
        for (Example e : examples) {
            if (kind == TaskKind.TOKEN_CLASSIFICATION) {
                Object tags = e.fields().get(Fields.TAGS);
                if (tags instanceof List<?> list) {
                    list.forEach(t -> seen.add((String) t));
                }
            } else if (e.fields().get(Fields.LABEL) instanceof String label) {
                if (kind == TaskKind.MULTI_LABEL) {
                    Arrays.stream(label.split(",")).map(String::strip).filter(s -> !s.isEmpty()).forEach(seen::add);
                } else {
                    seen.add(label);
                }
            }
        }
        return seen;
    }

    /**
     * Tokenises every example (truncating to {@code maxLength}) and encodes its label. Unlabelled examples
     * (no label field) are allowed only when {@code requireLabels} is false (prediction).
     */
    public static TokenizedDataset encode(List<Example> examples, TextTokenizer tokenizer, int maxLength, TaskKind kind,
            LabelVocabulary vocabulary, boolean requireLabels) {
        requireNonNull(examples, "examples is null");
        requireNonNull(tokenizer, "tokenizer is null");
        requireNonNull(kind, "kind is null");
        if (examples.isEmpty()) {
            throw new DataException("the dataset has no examples");
        }
        List<EncodedExample> out = new ArrayList<>(examples.size());
        for (int i = 0; i < examples.size(); i++) {
            out.add(encodeOne(examples.get(i), i, tokenizer, maxLength, kind, vocabulary, requireLabels));
        }
        return new TokenizedDataset(List.copyOf(examples), List.copyOf(out), kind, vocabulary);
    }

    private static EncodedExample encodeOne(Example e, int index, TextTokenizer tokenizer, int maxLength, TaskKind kind,
            LabelVocabulary vocabulary, boolean requireLabels) {
        String origin = e.origin();
        if (kind == TaskKind.CAUSAL_LM) {
            return encodeCausal(e, index, tokenizer, maxLength);
        }
        if (kind == TaskKind.TOKEN_CLASSIFICATION) {
            List<String> words = stringList(e, Fields.TOKENS, origin);
            Object tagsField = e.fields().get(Fields.TAGS);
            if (tagsField == null && requireLabels) {
                throw new DataException(origin + ": no tags (token classification needs a tag for every word)");
            }
            TextTokenizer.Encoding enc = tokenizer.encodeWords(words, maxLength);
            long[] tokenLabels = null;
            boolean labelled = tagsField != null;
            if (labelled) {
                List<String> tags = stringList(e, Fields.TAGS, origin);
                if (tags.size() != words.size()) {
                    throw new DataException(origin + ": " + words.size() + " words but " + tags.size() + " tags");
                }
                long[] wordLabel = new long[tags.size()];
                for (int w = 0; w < tags.size(); w++) {
                    wordLabel[w] = vocabulary.id(tags.get(w), origin);
                }
                tokenLabels = new long[enc.ids().length];
                long previous = -1;
                for (int t = 0; t < tokenLabels.length; t++) {
                    long w = enc.wordIds()[t];
                    // word label on the word's first sub-token only; specials and continuation pieces ignored
                    tokenLabels[t] = w >= 0 && w != previous ? wordLabel[(int) w] : IGNORE;
                    previous = w;
                }
            }
            return new EncodedExample(enc.ids(), enc.typeIds(), -1, 0f, null, tokenLabels, enc.wordIds(), words.size(), index, labelled);
        }
        Object text = e.fields().get(Fields.TEXT);
        if (!(text instanceof String t)) {
            throw new DataException(origin + ": no text field");
        }
        Object pair = e.fields().get(Fields.TEXT_PAIR);
        TextTokenizer.Encoding enc = pair instanceof String p ? tokenizer.encodePair(t, p, maxLength) : tokenizer.encode(t, maxLength);
        Object label = e.fields().get(Fields.LABEL);
        if (!(label instanceof String l)) {
            if (requireLabels) {
                throw new DataException(origin + ": no label");
            }
            return new EncodedExample(enc.ids(), enc.typeIds(), -1, 0f, null, null, null, 0, index, false);
        }
        return switch (kind) {
            case CLASSIFICATION -> new EncodedExample(enc.ids(), enc.typeIds(), vocabulary.id(l, origin), 0f, null, null, null, 0, index, true);
            case REGRESSION -> {
                float v;
                try {
                    v = Float.parseFloat(l);
                } catch (NumberFormatException ex) {
                    throw new DataException(origin + ": label '" + l + "' is not a number (regression)");
                }
                if (!Float.isFinite(v)) {
                    throw new DataException(origin + ": label '" + l + "' is not finite");
                }
                yield new EncodedExample(enc.ids(), enc.typeIds(), -1, v, null, null, null, 0, index, true);
            }
            case MULTI_LABEL -> {
                float[] hot = new float[vocabulary.size()];
                for (String part : l.split(",")) {
                    if (!part.isBlank()) {
                        hot[vocabulary.id(part.strip(), origin)] = 1f;
                    }
                }
                yield new EncodedExample(enc.ids(), enc.typeIds(), -1, 0f, hot, null, null, 0, index, true);
            }
            default -> throw new IllegalStateException(kind.toString());
        };
    }

    /**
     * Causal LM: labels are the ids (the loss shifts them). A pre-tokenised block ({@link Fields#INPUT_IDS})
     * is taken as is; a prompt/completion pair is tokenised as one text and the leading tokens it shares
     * with the prompt alone get -100, so only completion tokens are trained; a plain text trains every token.
     */
    private static EncodedExample encodeCausal(Example e, int index, TextTokenizer tokenizer, int maxLength) {
        String origin = e.origin();
        Object block = e.fields().get(Fields.INPUT_IDS);
        if (block instanceof List<?> list) {
            if (list.size() > maxLength) {
                throw new DataException(origin + ": a block of " + list.size() + " tokens is longer than model.max-length = " + maxLength
                        + "; set the reader's block-size to at most " + maxLength);
            }
            long[] ids = new long[list.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = ((Number) list.get(i)).longValue();
            }
            return new EncodedExample(ids, null, -1, 0f, null, ids.clone(), null, 0, index, true);
        }
        Object prompt = e.fields().get(Fields.PROMPT);
        Object completion = e.fields().get(Fields.COMPLETION);
        if (prompt instanceof String p && completion instanceof String c) {
            long[] ids = tokenizer.encode(p + c, maxLength).ids();
            long[] promptIds = tokenizer.encode(p, maxLength).ids();
            int shared = 0;
            while (shared < ids.length && shared < promptIds.length && ids[shared] == promptIds[shared]) {
                shared++;
            }
            long[] labels = ids.clone();
            java.util.Arrays.fill(labels, 0, shared, IGNORE);
            if (shared >= ids.length) {
                throw new DataException(origin + ": no completion token is left to train on (the prompt takes " + promptIds.length
                        + " of model.max-length = " + maxLength + " tokens); raise model.max-length or shorten the prompt");
            }
            return new EncodedExample(ids, null, -1, 0f, null, labels, null, 0, index, true);
        }
        Object text = e.fields().get(Fields.TEXT);
        if (!(text instanceof String t)) {
            throw new DataException(origin + ": no text (a causal LM trains on a text field, a prompt and completion, or token blocks); fields are "
                    + e.fields().keySet());
        }
        long[] ids = tokenizer.encode(t, maxLength).ids();
        return new EncodedExample(ids, null, -1, 0f, null, ids.clone(), null, 0, index, true);
    }

    @SuppressWarnings("unchecked")
    private static List<String> stringList(Example e, String field, String origin) {
        Object v = e.fields().get(field);
        if (!(v instanceof List<?> list) || list.stream().anyMatch(x -> !(x instanceof String))) {
            throw new DataException(origin + ": field '" + field + "' is missing or not a list of strings");
        }
        if (list.isEmpty()) {
            throw new DataException(origin + ": field '" + field + "' is empty");
        }
        return (List<String>) list;
    }

    public int size() {
        return encoded.size();
    }

    public EncodedExample get(int i) {
        return encoded.get(i);
    }

    public Example source(int i) {
        return examples.get(i);
    }

    public List<EncodedExample> encoded() {
        return encoded;
    }

    public TaskKind kind() {
        return kind;
    }

    public LabelVocabulary vocabulary() {
        return vocabulary;
    }

    /** Total tokens (without padding), for throughput numbers. */
    public long tokenCount() {
        return encoded.stream().mapToLong(EncodedExample::length).sum();
    }
}
