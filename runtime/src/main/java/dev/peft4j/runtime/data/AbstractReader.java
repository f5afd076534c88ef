package dev.peft4j.runtime.data;

import dev.peft4j.api.spi.DatasetReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.List;

/** Shared by the built-in readers: UTF-8 decoding with BOM removal, bad-row counting, empty-dataset check. */
abstract class AbstractReader implements DatasetReader {
    protected final ReaderConfig config;
    AbstractReader(ReaderConfig config) {
        this.config = config;
    }

    /** Reads with {@code data.bad-rows = fail}: the first bad row is an error. */
    @Override
    public final List<Example> read(Source source) throws IOException {
        return read(source, new BadRows(BadRows.Policy.FAIL));
    }

    /** Reads under {@code bad}'s policy; skipped rows are counted (and the first ten named) in {@code bad}. */
    public final List<Example> read(Source source, BadRows bad) throws IOException {
        List<Example> examples;
        try (InputStream in = source.open();
                Reader reader = new java.io.InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT))) {
            java.io.PushbackReader pushback = new java.io.PushbackReader(new java.io.BufferedReader(reader, 1 << 16), 1);
            int c = pushback.read();
            if (c != -1 && c != '\uFEFF') {
                pushback.unread(c);
            }
            examples = read(source.name(), pushback, bad);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new DataException(source.name() + ": not valid UTF-8 (" + e.getMessage() + ")", e);
        }
        if (examples.isEmpty()) {
            throw new DataException(source.name() + ": no examples" + (bad.skipped() > 0 ? " (all " + bad.skipped() + " rows were bad, first: " + bad.named().get(0) + ")" : ""));
        }
        return examples;
    }

    abstract List<Example> read(String name, Reader in, BadRows bad) throws IOException;

    /** What a JSON Lines reader makes of one object: an example, or null after reporting a bad row. */
    @FunctionalInterface
    interface JsonRow {
        Example read(JsonObject object, String origin);
    }

    /**
     * JSON Lines: every non-blank line must be a JSON object ({@code expected} says what it should hold,
     * for the error); each goes to {@code row} with its origin ({@code name:line}). Invalid JSON and
     * non-objects are bad rows.
     */
    static List<Example> readJsonLines(String name, Reader in, BadRows bad, String expected, JsonRow row) throws IOException {
        List<Example> out = new ArrayList<>();
        int lineNo = 0;
        String line;
        while ((line = readLine(in)) != null) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            String origin = name + ":" + lineNo;
            JsonElement parsed;
            try {
                parsed = JsonParser.parseString(line);
            } catch (JsonParseException e) {
                bad.bad(origin, "invalid JSON (" + e.getMessage() + ")");
                continue;
            }
            if (!parsed.isJsonObject()) {
                bad.bad(origin, "expected " + expected + ", got " + abbreviate(line));
                continue;
            }
            Example example = row.read(parsed.getAsJsonObject(), origin);
            if (example != null) {
                out.add(example);
            }
        }
        return out;
    }

    /** At most 60 characters of {@code s}, for error messages. */
    static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    /** Reads one line without its terminator (\n, \r\n); null at end of input. */
    static String readLine(Reader in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        boolean any = false;
        while ((c = in.read()) != -1) {
            any = true;
            if (c == '\n') {
                break;
            }
            sb.append((char) c);
        }
        if (!any) {
            return null;
        }
        int n = sb.length();
        if (n > 0 && sb.charAt(n - 1) == '\r') {
            sb.setLength(n - 1);
        }
        return sb.toString();
    }
}
