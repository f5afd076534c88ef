package dev.peft4j.runtime.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SQuAD's JSON ({@code {"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers": [{"text",
 * "answer_start"}], "is_impossible"}]}]}]}}), v1.1 and v2.0: one example per question with {@link Fields#QUESTION},
 * {@link Fields#CONTEXT}, {@link Fields#ID}, {@link Fields#ANSWERS} and {@link Fields#ANSWER_STARTS}. An unanswerable
 * question ({@code is_impossible}) has empty answer lists. A gold answer whose text is not at its {@code answer_start} in
 * the context is dropped; a question left with no answer (and not marked impossible) is skipped and counted, with its id, in
 * {@link #skippedIds()} and one warning; it never fails the read. A question without {@code answers} at all (a test file)
 * is read unlabelled. Structural errors (invalid JSON, a missing context or question) fail with the path to the record.
 */
final class SquadReader extends AbstractReader {
    private static final Logger LOG = LoggerFactory.getLogger(SquadReader.class);

    private final List<String> skippedIds = new ArrayList<>();

    SquadReader(ReaderConfig config) {
        super(config);
    }

    /** The ids of the questions the last read skipped because no gold answer was found in the context. */
    List<String> skippedIds() {
        return List.copyOf(skippedIds);
    }

    @Override
    List<Example> read(String name, Reader in, BadRows bad) throws IOException {
        skippedIds.clear();
        JsonElement root;
        try {
            root = JsonParser.parseReader(in);
        } catch (JsonParseException e) {
            throw new DataException(name + ": not valid JSON (" + e.getMessage() + "); expected SQuAD's {\"data\": [...]}", e);
        }
        if (!root.isJsonObject() || !root.getAsJsonObject().has("data") || !root.getAsJsonObject().get("data").isJsonArray()) {
            throw new DataException(name + ": expected SQuAD's JSON object with a \"data\" array of articles");
        }
        List<Example> out = new ArrayList<>();
        JsonArray articles = root.getAsJsonObject().getAsJsonArray("data");
        for (int a = 0; a < articles.size(); a++) {
            JsonObject article = object(articles.get(a), name, "data[" + a + "]");
            JsonArray paragraphs = array(article, "paragraphs", name, "data[" + a + "]");
            for (int p = 0; p < paragraphs.size(); p++) {
                String where = "data[" + a + "].paragraphs[" + p + "]";
                JsonObject paragraph = object(paragraphs.get(p), name, where);
                String context = string(paragraph, "context", name, where);
                JsonArray qas = array(paragraph, "qas", name, where);
                for (int q = 0; q < qas.size(); q++) {
                    String qWhere = where + ".qas[" + q + "]";
                    JsonObject qa = object(qas.get(q), name, qWhere);
                    Example e = question(qa, context, name, qWhere);
                    if (e != null) {
                        out.add(e);
                    }
                }
            }
        }
        if (!skippedIds.isEmpty()) {
            LOG.warn("{}: skipped {} question(s) whose answer is not in its context (text not found at answer_start): {}", name,
                    skippedIds.size(), skippedIds.size() <= 20 ? skippedIds : skippedIds.subList(0, 20) + " ...");
        }
        return out;
    }

    private Example question(JsonObject qa, String context, String name, String where) {
        String id = qa.has("id") ? qa.get("id").getAsString() : where;
        String origin = name + ":" + where + " (id " + id + ")";
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put(Fields.ID, id);
        fields.put(Fields.QUESTION, string(qa, "question", name, where));
        fields.put(Fields.CONTEXT, context);
        boolean impossible = qa.has("is_impossible") && qa.get("is_impossible").getAsBoolean();
        JsonElement answers = qa.get("answers");
        if (impossible) {
            fields.put(Fields.ANSWERS, List.of());
            fields.put(Fields.ANSWER_STARTS, List.of());
            return new Example(fields, origin);
        }
        if (answers == null || answers.isJsonNull()) {
            return new Example(fields, origin); // unlabelled (a test file): predict only
        }
        if (!answers.isJsonArray()) {
            throw new DataException(origin + ": \"answers\" is " + abbreviate(answers.toString()) + ", expected a list of {text, answer_start}");
        }
        List<String> texts = new ArrayList<>();
        List<Integer> starts = new ArrayList<>();
        for (JsonElement a : answers.getAsJsonArray()) {
            JsonObject answer = object(a, name, where + ".answers");
            String text = string(answer, "text", name, where + ".answers");
            if (!answer.has("answer_start") || !answer.get("answer_start").isJsonPrimitive()) {
                throw new DataException(origin + ": an answer has no answer_start");
            }
            int start = answer.get("answer_start").getAsInt();
            if (!text.isEmpty() && start >= 0 && context.startsWith(text, start)) {
                texts.add(text);
                starts.add(start);
            }
        }
        if (texts.isEmpty()) {
            skippedIds.add(id);
            return null;
        }
        fields.put(Fields.ANSWERS, List.copyOf(texts));
        fields.put(Fields.ANSWER_STARTS, List.copyOf(starts));
        return new Example(fields, origin);
    }

    private static JsonObject object(JsonElement e, String name, String where) {
        if (e == null || !e.isJsonObject()) {
            throw new DataException(name + ":" + where + ": expected a JSON object, got " + (e == null ? "nothing" : abbreviate(e.toString())));
        }
        return e.getAsJsonObject();
    }

    private static JsonArray array(JsonObject o, String key, String name, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonArray()) {
            throw new DataException(name + ":" + where + ": \"" + key + "\" is " + (e == null ? "missing" : abbreviate(e.toString())) + ", expected a list");
        }
        return e.getAsJsonArray();
    }

    private static String string(JsonObject o, String key, String name, String where) {
        JsonElement e = o.get(key);
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new DataException(name + ":" + where + ": \"" + key + "\" is " + (e == null ? "missing" : abbreviate(e.toString())) + ", expected a string");
        }
        return e.getAsString();
    }
}
