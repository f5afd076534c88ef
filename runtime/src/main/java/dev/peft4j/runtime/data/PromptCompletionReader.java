package dev.peft4j.runtime.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.Reader;
import java.util.List;
import java.util.Map;

/**
 * Prompt/completion pairs for causal-LM fine-tuning, one JSON object per line
 * ({@code {"prompt": "...", "completion": "..."}}; the field names are the {@code prompt} and
 * {@code completion} keys). Only the completion's tokens are trained (the prompt's labels are -100).
 * A missing or non-string field, an empty completion or invalid JSON is a bad row (file and line).
 */
final class PromptCompletionReader extends AbstractReader {
    private final String promptField;
    private final String completionField;

    PromptCompletionReader(ReaderConfig config, String promptField, String completionField) {
        super(config);
        this.promptField = promptField;
        this.completionField = completionField;
    }

    @Override
    List<Example> read(String name, Reader in, BadRows bad) throws IOException {
        return readJsonLines(name, in, bad, "a JSON object with '" + promptField + "' and '" + completionField + "'", (o, origin) -> {
            String prompt = string(o, promptField);
            String completion = string(o, completionField);
            if (prompt == null || completion == null) {
                String missing = prompt == null ? promptField : completionField;
                bad.bad(origin, "field '" + missing + "' is " + (o.has(missing) ? o.get(missing) : "missing")
                        + ", expected a string; fields are " + o.keySet());
                return null;
            }
            if (completion.isEmpty()) {
                bad.bad(origin, "field '" + completionField + "' is empty: nothing to train on");
                return null;
            }
            return new Example(Map.of(Fields.PROMPT, prompt, Fields.COMPLETION, completion), origin);
        });
    }

    /** The field as a string, or null when it is missing or not a string. */
    private static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString() ? e.getAsString() : null;
    }
}
