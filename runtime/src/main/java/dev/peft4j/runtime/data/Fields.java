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

    private Fields() {}
}
