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

    private final dev.peft4j.api.spi.TaskHead.SpanOptions spanOptions;

    private TokenizedDataset(List<Example> examples, List<EncodedExample> encoded, TaskKind kind, LabelVocabulary vocabulary) {
        this(examples, encoded, kind, vocabulary, null);
    }

    private TokenizedDataset(List<Example> examples, List<EncodedExample> encoded, TaskKind kind, LabelVocabulary vocabulary,
            dev.peft4j.api.spi.TaskHead.SpanOptions spanOptions) {
        this.examples = examples;
        this.encoded = encoded;
        this.kind = kind;
        this.vocabulary = vocabulary;
        this.spanOptions = spanOptions;
    }

    /**
     * Extractive QA: every question with its context ({@link Fields#QUESTION}, {@link Fields#CONTEXT}) becomes one or more
     * windows of at most {@code maxLength} tokens (a long context is cut with {@code options.docStride()} shared tokens), each
     * labelled with the first gold answer's start and end tokens, or 0/0 (the first token) when the answer is not inside the
     * window or the question has none (SQuAD 2.0), as transformers' {@code run_qa.py} prepares them. Examples without
     * {@link Fields#ANSWERS} are allowed only when {@code requireLabels} is false (prediction).
     */
    public static TokenizedDataset encodeSpans(List<Example> examples, TextTokenizer tokenizer, int maxLength,
            dev.peft4j.api.spi.TaskHead.SpanOptions options, boolean requireLabels) {
        requireNonNull(examples, "examples is null");
        requireNonNull(tokenizer, "tokenizer is null");
        requireNonNull(options, "options is null");
        if (examples.isEmpty()) {
            throw new DataException("the dataset has no examples");
        }
        List<EncodedExample> out = new ArrayList<>();
        for (int i = 0; i < examples.size(); i++) {
            Example e = examples.get(i);
            if (!(e.fields().get(Fields.QUESTION) instanceof String question) || !(e.fields().get(Fields.CONTEXT) instanceof String context)) {
                throw new DataException(e.origin() + ": no question and context (extractive QA reads them, e.g. with data format = squad); fields are "
                        + e.fields().keySet());
            }
            Object answers = e.fields().get(Fields.ANSWERS);
            if (answers == null && requireLabels) {
                throw new DataException(e.origin() + ": no answers (training and evaluation need them; an unanswerable question has an empty list)");
            }
            int answerStart = -1;
            int answerEnd = -1;
            if (answers instanceof List<?> texts && !texts.isEmpty()) {
                answerStart = ((Number) ((List<?>) e.fields().get(Fields.ANSWER_STARTS)).get(0)).intValue();
                answerEnd = answerStart + ((String) texts.get(0)).length();
            }
            List<TextTokenizer.ContextWindow> windows;
            try {
                windows = tokenizer.encodeWithContext(question, context, maxLength, options.docStride());
            } catch (IllegalArgumentException ex) {
                throw new DataException(e.origin() + ": " + ex.getMessage() + " (raise model.max-length or lower head.doc-stride)", ex);
            }
            for (TextTokenizer.ContextWindow w : windows) {
                int[] span = answerStart < 0 ? new int[] {0, 0} : answerTokens(w, answerStart, answerEnd);
                out.add(new EncodedExample(w.ids(), w.typeIds(), -1, 0f, null, null, null, 0, out.size(), answers != null,
                        new EncodedExample.SpanFeature(i, w.charStarts(), w.charEnds(), span[0], span[1])));
            }
        }
        return new TokenizedDataset(List.copyOf(examples), List.copyOf(out), TaskKind.QUESTION_ANSWERING, null, options);
    }

    /** The answer's first and last token in the window, or 0/0 when the window does not hold the whole answer. */
    static int[] answerTokens(TextTokenizer.ContextWindow w, int startChar, int endChar) {
        int first = -1;
        int last = -1;
        for (int t = 0; t < w.ids().length; t++) {
            if (w.inContext(t)) {
                first = first < 0 ? t : first;
                last = t;
            }
        }
        if (first < 0 || w.charStarts()[first] > startChar || w.charEnds()[last] < endChar) {
            return new int[] {0, 0};
        }
        int start = first;
        while (start + 1 <= last && w.charStarts()[start + 1] <= startChar) {
            start++;
        }
        int end = last;
        while (end - 1 >= start && w.charEnds()[end - 1] >= endChar) {
            end--;
        }
        return new int[] {start, end};
    }

    /** Extractive QA: the windowing and decoding options; null for every other task. */
    public dev.peft4j.api.spi.TaskHead.SpanOptions spanOptions() {
        return spanOptions;
    }

    /** How many source examples (questions, for extractive QA, whose windows are the {@link #size()} encoded examples). */
    public int exampleCount() {
        return examples.size();
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
