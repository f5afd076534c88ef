package dev.peft4j.runtime.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One JSON object per line. Text fields must be strings; a label may be a string, number or boolean
 * (kept as its text) or a list (multi-label, joined with commas); tokens and tags are string lists of
 * equal length. A missing field, a wrong type or invalid JSON is a bad row.
 */
final class JsonlReader extends AbstractReader {
    JsonlReader(ReaderConfig config) {
        super(config);
    }

    @Override
    List<Example> read(String name, Reader in, BadRows bad) throws IOException {
        return readJsonLines(name, in, bad, "a JSON object", (o, origin) -> {
            Map<String, Object> fields = new LinkedHashMap<>();
            try {
                if (!config.text().isEmpty()) {
                    fields.put(Fields.TEXT, string(o, config.text()));
                }
                if (!config.textPair().isEmpty()) {
                    fields.put(Fields.TEXT_PAIR, string(o, config.textPair()));
                }
                if (!config.tokens().isEmpty()) {
                    fields.put(Fields.TOKENS, strings(o, config.tokens()));
                }
                if (!config.tags().isEmpty()) {
                    List<String> tags = strings(o, config.tags());
                    if (fields.containsKey(Fields.TOKENS) && ((List<?>) fields.get(Fields.TOKENS)).size() != tags.size()) {
                        throw new IllegalArgumentException("'" + config.tokens() + "' has " + ((List<?>) fields.get(Fields.TOKENS)).size()
                                + " items but '" + config.tags() + "' has " + tags.size());
                    }
                    fields.put(Fields.TAGS, tags);
                }
                if (!config.label().isEmpty()) {
                    JsonElement l = o.get(config.label());
                    if (l == null || l.isJsonNull()) {
                        throw new IllegalArgumentException("missing field '" + config.label() + "'");
                    }
                    fields.put(Fields.LABEL, l.isJsonArray() ? String.join(",", strings(o, config.label())) : l.getAsString());
                }
            } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
                bad.bad(origin, e.getMessage());
                return null;
            }
            return new Example(fields, origin);
        });
    }

    private static String string(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            throw new IllegalArgumentException("missing field '" + key + "'; fields are " + o.keySet());
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new IllegalArgumentException("field '" + key + "' is " + abbreviate(e.toString()) + ", expected a string");
        }
        return e.getAsString();
    }

    private static List<String> strings(JsonObject o, String key) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonArray()) {
            throw new IllegalArgumentException("field '" + key + "' is " + (e == null ? "missing" : abbreviate(e.toString())) + ", expected a list of strings");
        }
        JsonArray a = e.getAsJsonArray();
        List<String> out = new ArrayList<>(a.size());
        for (JsonElement x : a) {
            if (!x.isJsonPrimitive()) {
                throw new IllegalArgumentException("field '" + key + "' holds " + abbreviate(x.toString()) + ", expected strings");
            }
            out.add(x.getAsString());
        }
        return out;
    }
}
