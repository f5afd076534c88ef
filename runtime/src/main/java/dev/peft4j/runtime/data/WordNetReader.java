package dev.peft4j.runtime.data;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * WordNet {@code data.noun}: one synset per line, {@code offset lex_filenum pos w_cnt word lex_id ... | gloss}.
 * The license header (lines starting with two spaces) is skipped. The example's text is the gloss and
 * its label the lexicographer file name ({@code lex_filenum} 03..28: {@code noun.Tops} ... {@code noun.time}).
 * With {@code include-words = true} the synset's words are put in front of the gloss.
 */
final class WordNetReader extends AbstractReader {
    /** Lexicographer file names by number (WordNet's lexnames file); nouns are 03..28. */
    static final List<String> LEXNAMES = List.of("adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal",
            "noun.artifact", "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
            "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
            "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance",
            "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition", "verb.consumption",
            "verb.contact", "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social",
            "verb.stative", "verb.weather", "adj.ppl");

    /** The 26 noun categories, in lexname order: the label vocabulary of this reader. */
    static final List<String> NOUN_CATEGORIES = LEXNAMES.subList(3, 29);

    private final boolean includeWords;

    WordNetReader(ReaderConfig config, boolean includeWords) {
        super(config);
        this.includeWords = includeWords;
    }

    @Override
    List<Example> read(String name, Reader in, BadRows bad) throws IOException {
        List<Example> out = new ArrayList<>();
        int lineNo = 0;
        String line;
        while ((line = readLine(in)) != null) {
            lineNo++;
            if (line.startsWith("  ") || line.isBlank()) {
                continue;
            }
            String origin = name + ":" + lineNo;
            int bar = line.indexOf(" | ");
            String[] f = (bar < 0 ? line : line.substring(0, bar)).split(" ");
            if (bar < 0 || f.length < 6) {
                bad.bad(origin, "not a WordNet data line 'offset lex_filenum pos w_cnt word lex_id ... | gloss'");
                continue;
            }
            int lex;
            int words;
            try {
                lex = Integer.parseInt(f[1]);
                words = Integer.parseInt(f[3], 16);
            } catch (NumberFormatException e) {
                bad.bad(origin, "lex_filenum '" + f[1] + "' or w_cnt '" + f[3] + "' is not a number");
                continue;
            }
            if (lex < 0 || lex >= LEXNAMES.size() || 4 + 2 * words > f.length) {
                bad.bad(origin, "lex_filenum " + lex + " or w_cnt " + words + " out of range");
                continue;
            }
            String gloss = line.substring(bar + 3).strip();
            StringBuilder text = new StringBuilder();
            if (includeWords) {
                for (int w = 0; w < words; w++) {
                    text.append(w == 0 ? "" : ", ").append(f[4 + 2 * w].replace('_', ' '));
                }
                text.append(": ");
            }
            text.append(gloss);
            Map<String, Object> fields = new LinkedHashMap<>();
            fields.put(Fields.TEXT, text.toString());
            fields.put(Fields.LABEL, LEXNAMES.get(lex));
            out.add(new Example(fields, origin));
        }
        return out;
    }
}
