package dev.peft4j.runtime.data;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import java.util.Optional;

/**
 * Config of the built-in readers. Column/field names map the file's names to {@link Fields}; empty
 * means "not used". CoNLL uses {@code token-column} and {@code tag-column} (0-based; negative counts
 * from the end). Bad rows follow {@code data.bad-rows} ({@link BadRows}), the same for every reader.
 *
 * @param text column holding the text (or first sentence)
 * @param textPair column holding the second sentence, or empty
 * @param label column holding the label, or empty (unlabelled data, prediction)
 * @param tokens JSONL field holding a list of words (token classification), or empty
 * @param tags JSONL field holding a list of tags, or empty
 */
public record ReaderConfig(String text, String textPair, String label, String tokens, String tags, int tokenColumn, int tagColumn) {

    /** Reads a reader's section; {@code keys} says which keys this format accepts. */
    static ReaderConfig parse(Config section, String prefix, boolean table, boolean conll, boolean jsonl) {
        ConfigReader r = new ConfigReader(section, prefix).allow("name");
        refuseMovedKeys(r, section);
        String text = table || jsonl ? r.string("text") : "";
        String textPair = table || jsonl ? r.string("text-pair") : "";
        String label = table || jsonl ? r.string("label") : "";
        String tokens = jsonl ? r.string("tokens") : "";
        String tags = jsonl ? r.string("tags") : "";
        int tokenColumn = conll ? r.intValue("token-column", -100, 100) : 0;
        int tagColumn = conll ? r.intValue("tag-column", -100, 100) : -1;
        if ((table || jsonl) && text.isEmpty() && tokens.isEmpty()) {
            r.problem(jsonl ? "text" : "text", "is empty, expected the name of the text column");
        }
        r.finish();
        return new ReaderConfig(text, textPair, label, tokens, tags, tokenColumn, tagColumn);
    }

    /** {@code skip-bad-rows} of a reader's section became {@code data.bad-rows = skip}: one policy for every reader. */
    static void refuseMovedKeys(ConfigReader r, Config section) {
        if (section.hasPath("skip-bad-rows")) {
            r.allow("skip-bad-rows");
            r.problem("skip-bad-rows", "is no longer a reader key; set data.bad-rows = skip (or fail, the default), which applies to every reader");
        }
    }

    Optional<String> optional(String v) {
        return v.isEmpty() ? Optional.empty() : Optional.of(v);
    }
}
