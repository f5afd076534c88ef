package dev.peft4j.runtime.data;

/** Fails on a bad row with {@code source:line: problem}, or counts it when bad rows are skipped. */
final class BadRows {
    private final boolean skip;
    private int skipped;
    private String first;

    BadRows(boolean skip) {
        this.skip = skip;
    }

    void bad(String origin, String problem) {
        if (!skip) {
            throw new DataException(origin + ": " + problem + " (set skip-bad-rows = true to skip such rows)");
        }
        if (first == null) {
            first = origin + ": " + problem;
        }
        skipped++;
    }

    int skipped() {
        return skipped;
    }

    String first() {
        return first;
    }
}
