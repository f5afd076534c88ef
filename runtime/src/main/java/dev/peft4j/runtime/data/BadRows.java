package dev.peft4j.runtime.data;

import dev.peft4j.api.spi.DatasetReader;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code data.bad-rows} policy of one split, applied by every built-in reader: {@code fail} (the default)
 * stops at the first bad row with {@code source:line: problem}; {@code skip} counts every bad row and keeps
 * the first {@value #NAMED} (origin and reason) for the run summary, {@code report.html} and {@code eval.json}.
 */
public final class BadRows {
    /** How many skipped rows are named; the rest are only counted. */
    public static final int NAMED = 10;

    /** The values of {@code data.bad-rows}. */
    public enum Policy {
        FAIL, SKIP;

        /** {@code fail} or {@code skip}; null for anything else. */
        public static Policy parse(String value) {
            return switch (value) {
                case "fail" -> FAIL;
                case "skip" -> SKIP;
                default -> null;
            };
        }
    }

    private final Policy policy;
    private final List<String> named = new ArrayList<>();
    private int skipped;

    public BadRows(Policy policy) {
        this.policy = java.util.Objects.requireNonNull(policy, "policy is null");
    }

    /** A bad row at {@code origin} ({@code file:line}): an error under {@code fail}, counted under {@code skip}. */
    public void bad(String origin, String problem) {
        if (policy == Policy.FAIL) {
            throw new DataException(origin + ": " + problem + " (set data.bad-rows = skip to skip and count such rows)");
        }
        if (named.size() < NAMED) {
            named.add(origin + ": " + problem);
        }
        skipped++;
    }

    public Policy policy() {
        return policy;
    }

    /** Every skipped row. */
    public int skipped() {
        return skipped;
    }

    /** The first {@value #NAMED} skipped rows, {@code origin: reason} each. */
    public List<String> named() {
        return List.copyOf(named);
    }

    /** Reads {@code source} under this policy: built-in readers apply it row by row; another reader reads as it always does. */
    public List<DatasetReader.Example> read(DatasetReader reader, DatasetReader.Source source) throws IOException {
        return reader instanceof AbstractReader r ? r.read(source, this) : reader.read(source);
    }

    /** {@code data.train: skipped 2 bad rows; first: a.tsv:3: ...; a.tsv:9: ...}, or null when nothing was skipped. */
    public static String describe(String split, BadRows rows) {
        if (rows.skipped() == 0) {
            return null;
        }
        return String.format(Locale.ROOT, "%s: skipped %,d bad row%s (data.bad-rows = skip); %s: %s", split, rows.skipped(),
                rows.skipped() == 1 ? "" : "s", rows.skipped() > NAMED ? "the first " + NAMED : "all", String.join("; ", rows.named()));
    }

    /** For {@code eval.json}: per split, {@code {"skipped": N, "first": ["file:line: reason", ...]}}. */
    public static Map<String, Object> toJson(Map<String, BadRows> splits) {
        Map<String, Object> out = new LinkedHashMap<>();
        splits.forEach((split, rows) -> {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("policy", rows.policy().name().toLowerCase(Locale.ROOT));
            one.put("skipped", rows.skipped());
            one.put("first", rows.named());
            out.put(split, one);
        });
        return out;
    }
}
