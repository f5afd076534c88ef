package dev.peft4j.runtime.data;

/**
 * The canonical field names readers put into {@link dev.peft4j.api.spi.DatasetReader.Example#fields()},
 * whatever the columns are called in the file (the reader's config maps columns to these).
 */
public final class Fields {
    /** The text, or the first sentence of a pair (String). */
    public static final String TEXT = "text";
    /** The second sentence of a pair (String). */
    public static final String TEXT_PAIR = "text_pair";
    /** The label as written in the file (String); classification maps it through the label vocabulary. */
    public static final String LABEL = "label";
    /** Pre-split words for token classification (List of String). */
    public static final String TOKENS = "tokens";
    /** One tag per word (List of String). */
    public static final String TAGS = "tags";
    /** Causal LM: the prompt, which is not trained on (String). */
    public static final String PROMPT = "prompt";
    /** Causal LM: the completion, the only tokens trained on (String). */
    public static final String COMPLETION = "completion";
    /** Causal LM: token ids already made by the reader (a block of a tokenised text; List of Long). */
    public static final String INPUT_IDS = "input_ids";

    /** Extractive QA: the question (String). */
    public static final String QUESTION = "question";
    /** Extractive QA: the context the answer is taken from (String). */
    public static final String CONTEXT = "context";
    /** Extractive QA: the question's id, for predictions and skipped-record messages (String). */
    public static final String ID = "id";
    /** Extractive QA: the gold answers' texts (List of String; empty for an unanswerable SQuAD 2.0 question). */
    public static final String ANSWERS = "answers";
    /** Extractive QA: each gold answer's character offset in the context (List of Integer, aligned with {@link #ANSWERS}). */
    public static final String ANSWER_STARTS = "answer_starts";

    private Fields() {}
}
