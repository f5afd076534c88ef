package dev.peft4j.runtime.data;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CoNLL columns: one word per line (whitespace-separated columns; the token and tag columns are
 * configured, negative indexes count from the end), a blank line between sentences, and
 * {@code -DOCSTART-} lines (document breaks) ignored. A line with too few columns, or with another number of
 * columns than the file's first word line, is a bad row, and the sentence holding it is dropped when bad rows are
 * skipped.
 */
final class ConllReader extends AbstractReader {
    ConllReader(ReaderConfig config) {
        super(config);
    }

    @Override
    List<Example> read(String name, Reader in, BadRows bad) throws IOException {
        List<Example> out = new ArrayList<>();
        List<String> tokens = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        int start = 0;
        boolean broken = false;
        int lineNo = 0;
        int columns = 0;
        int columnsLine = 0;
        String line;
        while (true) {
            line = readLine(in);
            if (line != null) {
                lineNo++;
            }
            String stripped = line == null ? "" : line.strip();
            if (line == null || stripped.isEmpty() || stripped.startsWith("-DOCSTART-")) {
                if (!tokens.isEmpty() && !broken) {
                    Map<String, Object> fields = new LinkedHashMap<>();
                    fields.put(Fields.TOKENS, List.copyOf(tokens));
                    fields.put(Fields.TAGS, List.copyOf(tags));
                    out.add(new Example(fields, name + ":" + start));
                }
                tokens.clear();
                tags.clear();
                broken = false;
                if (line == null) {
                    break;
                }
                continue;
            }
            if (tokens.isEmpty()) {
                start = lineNo;
            }
            String[] cols = stripped.split("\\s+");
            if (columns == 0) {
                columns = cols.length;
                columnsLine = lineNo;
            } else if (cols.length != columns) {
                // a negative column counts from the end, so a short line would silently read another column (a chunk tag) as the tag
                bad.bad(name + ":" + lineNo, "has " + cols.length + " columns, but the file's first word line (" + name + ":" + columnsLine
                        + ") has " + columns + "; every word line needs the same columns");
                broken = true;
                tokens.add("");
                continue;
            }
            int t = index(config.tokenColumn(), cols.length);
            int g = index(config.tagColumn(), cols.length);
            if (t < 0 || g < 0 || t >= cols.length || g >= cols.length || t == g) {
                bad.bad(name + ":" + lineNo, "has " + cols.length + " columns; token-column " + config.tokenColumn() + " and tag-column "
                        + config.tagColumn() + " need more");
                broken = true;
                tokens.add("");
                continue;
            }
            tokens.add(cols[t]);
            tags.add(cols[g]);
        }
        return out;
    }

    private static int index(int configured, int n) {
        return configured < 0 ? n + configured : configured;
    }
}
