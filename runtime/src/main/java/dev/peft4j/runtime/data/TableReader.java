package dev.peft4j.runtime.data;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * TSV (tab-separated, no quoting at all, as the GLUE files: a {@code "} is an ordinary character)
 * and CSV (RFC 4180: fields in double quotes may hold commas, line breaks and {@code ""}). The first
 * row is the header; columns are found by name. A row with the wrong number of fields is a bad row.
 */
final class TableReader extends AbstractReader {
    private final boolean csv;

    TableReader(ReaderConfig config, boolean csv) {
        super(config);
        this.csv = csv;
    }

    @Override
    List<Example> read(String name, Reader in, BadRows bad) throws IOException {
        int[] line = {0};
        List<String> header = next(in, line, name, bad);
        if (header == null) {
            throw new DataException(name + ": empty file, expected a header row");
        }
        int headerLine = line[0];
        int text = column(header, config.text(), "text", name, headerLine);
        int pair = config.textPair().isEmpty() ? -1 : column(header, config.textPair(), "text-pair", name, headerLine);
        int label = config.label().isEmpty() ? -1 : column(header, config.label(), "label", name, headerLine);
        List<Example> out = new ArrayList<>();
        while (true) {
            int start = line[0] + 1;
            List<String> row = next(in, line, name, bad);
            if (row == null) {
                break;
            }
            String origin = name + ":" + start;
            if (row.size() == 1 && row.get(0).isEmpty()) {
                continue; // blank line
            }
            if (row.size() != header.size()) {
                bad.bad(origin, "has " + row.size() + " fields, expected " + header.size() + " as in the header " + header);
                continue;
            }
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put(Fields.TEXT, row.get(text));
            if (pair >= 0) {
                fields.put(Fields.TEXT_PAIR, row.get(pair));
            }
            if (label >= 0) {
                String v = row.get(label).strip();
                if (v.isEmpty()) {
                    bad.bad(origin, "empty label in column '" + config.label() + "'");
                    continue;
                }
                fields.put(Fields.LABEL, v);
            }
            out.add(new Example(fields, origin));
        }
        return out;
    }

    private static int column(List<String> header, String wanted, String key, String name, int line) {
        int i = header.indexOf(wanted);
        if (i < 0) {
            throw new DataException(name + ":" + line + ": no column '" + wanted + "' (from key '" + key + "') in the header; columns are " + header);
        }
        return i;
    }

    /** The next record's fields, or null at the end; advances {@code line[0]} by the lines consumed. */
    private List<String> next(Reader in, int[] line, String name, BadRows bad) throws IOException {
        if (!csv) {
            String l = readLine(in);
            if (l == null) {
                return null;
            }
            line[0]++;
            return List.of(l.split("\t", -1));
        }
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int c = in.read();
        if (c == -1) {
            return null;
        }
        line[0]++;
        int startLine = line[0];
        boolean quoted = false;
        boolean fieldStart = true;
        while (true) {
            if (quoted) {
                if (c == -1) {
                    throw new DataException(name + ":" + startLine + ": unterminated quoted field");
                }
                if (c == '"') {
                    int d = in.read();
                    if (d == '"') {
                        field.append('"');
                    } else {
                        quoted = false;
                        c = d;
                        continue;
                    }
                } else {
                    if (c == '\n') {
                        line[0]++;
                    }
                    field.append((char) c);
                }
            } else {
                if (c == -1 || c == '\n') {
                    int n = field.length();
                    if (n > 0 && field.charAt(n - 1) == '\r') {
                        field.setLength(n - 1);
                    }
                    fields.add(field.toString());
                    return fields;
                }
                if (c == ',') {
                    fields.add(field.toString());
                    field.setLength(0);
                    fieldStart = true;
                    c = in.read();
                    continue;
                }
                if (c == '"' && fieldStart) {
                    quoted = true;
                } else {
                    field.append((char) c);
                }
            }
            fieldStart = false;
            c = in.read();
        }
    }
}
