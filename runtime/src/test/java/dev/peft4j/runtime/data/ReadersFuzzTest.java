package dev.peft4j.runtime.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.peft4j.api.spi.DatasetReader;
import dev.peft4j.api.spi.DatasetReader.Example;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Property-based fuzzing (jqwik) of every built-in dataset reader, on text made of the characters and pieces that
 * matter to each format (separators, quotes, braces, line breaks, BOMs, non-ASCII) and on raw bytes (invalid
 * UTF-8). The property: a list of examples whose origins are {@code file:line}, or a {@link DataException} whose
 * message starts with the file (and, for a bad row, its line), under both bad-row policies; never another exception,
 * never more than {@link #BOUND} per file. A failure shrinks to a minimal file. Tries per property are stated on each
 * (200 each, 1,400 files in all; about 5 s).
 */
class ReadersFuzzTest {
    /**
     * Per file: a hang bound, not a speed target (files of at most a few KB read in milliseconds); 5 s was exceeded by
     * 4 properties on a 2-core host at load average 45, where a thread can wait seconds for a core.
     */
    static final Duration BOUND = Duration.ofSeconds(30);

    private static final Pattern LOCATED_ROW = Pattern.compile(".*:\\d+$");

    private static String check(String reader, String overrides, byte[] content, boolean skip) throws IOException {
        Path file = Files.createTempFile("peft4j-fuzz-", "." + reader);
        try {
            Files.write(file, content);
            DatasetReader r = ReadersTest.reader(reader, overrides);
            BadRows bad = new BadRows(skip ? BadRows.Policy.SKIP : BadRows.Policy.FAIL);
            return assertTimeoutPreemptively(BOUND, () -> {
                try {
                    List<Example> examples = bad.read(r, new FileSource(file));
                    assertThat(examples).isNotEmpty();
                    for (Example e : examples) {
                        assertThat(e.origin()).startsWith(file.toString()).matches(LOCATED_ROW);
                    }
                    assertThat(bad.skipped()).as("skipped rows under fail").isEqualTo(skip ? bad.skipped() : 0);
                    assertThat(bad.named()).hasSize(Math.min(BadRows.NAMED, bad.skipped()));
                    return "read";
                } catch (DataException e) {
                    assertThat(e.getMessage()).as("a data error names the file first").startsWith(file + ":");
                    return "data error";
                }
            }, () -> reader + " took longer than " + BOUND);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Pieces of text: structure characters of every format, words, a BOM, non-ASCII, long runs. */
    private static Arbitrary<String> pieces(String... structural) {
        Arbitrary<String> special = Arbitraries.of(structural);
        Arbitrary<String> words = Arbitraries.of("good", "pos", "neg", "0", "1", "1.0", "label", "sentence", "text", "\uFEFF", "é", "\u4e2d",
                "\uD83D\uDE00", "\u0000", " ", "  ", "x".repeat(300));
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(3, special), net.jqwik.api.Tuple.of(2, words));
    }

    private static Arbitrary<byte[]> file(Arbitrary<String> pieces, String header) {
        Arbitrary<byte[]> text = pieces.list().ofMaxSize(60).map(l -> utf8((header == null ? "" : header) + String.join("", l)));
        Arbitrary<byte[]> raw = Arbitraries.bytes().array(byte[].class).ofMaxSize(200);
        Arbitrary<byte[]> broken = text.map(b -> {
            byte[] out = java.util.Arrays.copyOf(b, b.length + 2);
            out[b.length] = (byte) 0xC3; // a lead byte followed by an ASCII byte: invalid UTF-8
            out[b.length + 1] = (byte) 'a';
            return out;
        });
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, text), net.jqwik.api.Tuple.of(1, raw), net.jqwik.api.Tuple.of(1, broken));
    }

    @Provide
    Arbitrary<byte[]> tsv() {
        return Arbitraries.oneOf(file(pieces("\t", "\n", "\r\n", "\"", "good\tpos\n", "bad\tneg\n"), "sentence\tlabel\n"),
                file(pieces("\t", "\n", "\r\n", "\"", "good\tpos\n"), null));
    }

    @Provide
    Arbitrary<byte[]> csv() {
        return Arbitraries.oneOf(file(pieces(",", "\n", "\r\n", "\"", "\"\"", "good,pos\n", "\"a,b\",neg\n"), "text,label\n"),
                file(pieces(",", "\n", "\"", "good,pos\n"), null));
    }

    @Provide
    Arbitrary<byte[]> jsonl() {
        return file(pieces("{", "}", "[", "]", ":", ",", "\"", "\\", "\n", "null", "true", "1e999", "\"text\"", "\"label\"",
                "{\"text\": \"good\", \"label\": \"pos\"}\n", "{\"text\": [\"EU\", \"rejects\"], \"label\": [\"B-ORG\", \"O\"]}\n", "{\"text\": 5, \"label\": [\"a\", 1]}\n", "{\"text\": \"x\", \"label\": {}}\n"), null);
    }

    @Provide
    Arbitrary<byte[]> conll() {
        return file(pieces(" ", "\t", "\n", "\n\n", "-DOCSTART- -X- O\n", "EU NNP B-NP B-ORG\n", "rejects VBZ O\n", "Peter B-PER\n"), null);
    }

    @Provide
    Arbitrary<byte[]> wordnet() {
        return file(pieces(" ", "|", "\n", "00001740", "03", "n", "01", "99", "-1", "entity", "0", "003",
                "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived  \n", "  1 license text\n"), null);
    }

    @Provide
    Arbitrary<byte[]> promptCompletion() {
        return file(pieces("{", "}", ":", ",", "\"", "\n", "\"prompt\"", "\"completion\"", "\"\"",
                "{\"prompt\": \"a\", \"completion\": \"b\"}\n", "{\"prompt\": 1, \"completion\": null}\n"), null);
    }

    /** Both outcomes must be common, or the generator is not testing what it claims to. */
    private static void collect(String outcome) {
        Statistics.collect(outcome);
        Statistics.coverage(c -> {
            c.check("read").count(n -> n >= 3);
            c.check("data error").count(n -> n >= 10);
        });
    }

    @Property(tries = 200, seed = "20261203")
    void tsv(@ForAll("tsv") byte[] content, @ForAll boolean skip) throws IOException {
        collect(check("tsv", "", content, skip));
    }

    @Property(tries = 200, seed = "20261203")
    void csv(@ForAll("csv") byte[] content, @ForAll boolean skip) throws IOException {
        collect(check("csv", "", content, skip));
    }

    @Property(tries = 200, seed = "20261203")
    void jsonl(@ForAll("jsonl") byte[] content, @ForAll boolean skip) throws IOException {
        collect(check("jsonl", "", content, skip));
    }

    @Property(tries = 200, seed = "7")
    void jsonlTokens(@ForAll("jsonl") byte[] content, @ForAll boolean skip) throws IOException {
        collect(check("jsonl", "text = \"\", label = \"\", tokens = text, tags = label", content, skip));
    }

    @Property(tries = 200, seed = "20261203")
    void conll(@ForAll("conll") byte[] content, @ForAll boolean skip) throws IOException {
        collect(check("conll", "", content, skip));
    }

    @Property(tries = 200, seed = "20261203")
    void wordnet(@ForAll("wordnet") byte[] content, @ForAll boolean skip) throws IOException {
        collect(check("wordnet", "", content, skip));
    }

    @Property(tries = 200, seed = "20261203")
    void promptCompletion(@ForAll("promptCompletion") byte[] content, @ForAll boolean skip) throws IOException {
        collect(check("prompt-completion", "", content, skip));
    }
}
