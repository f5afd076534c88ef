package dev.peft4j.runtime.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.spi.DatasetReader;
import dev.peft4j.api.spi.DatasetReader.Example;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code data.bad-rows = fail | skip}, the same for every built-in reader (issue #15, item 4). */
class BadRowsPolicyTest {
    @TempDir
    Path dir;

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    /** One file per reader with a good row, a bad row at a known line and another good row. */
    private record Case(String reader, String overrides, String content, int badLine, String reason, int good) {}

    private static final List<Case> CASES = List.of(
            new Case("tsv", "", "sentence\tlabel\ngood\tpos\nno tab here\nfine\tneg\n", 3, "has 1 fields, expected 2", 2),
            new Case("csv", "", "text,label\ngood,pos\n\"a\",b,c\nfine,neg\n", 3, "has 3 fields, expected 2", 2),
            new Case("jsonl", "", "{\"text\":\"good\",\"label\":\"pos\"}\n{\"text\":\"broken\"\n{\"text\":\"fine\",\"label\":\"neg\"}\n", 2,
                    "invalid JSON", 2),
            new Case("conll", "", "EU B-ORG\nrejects O\n\nPeter B-PER I-PER\n\nok O\n", 4, "has 3 columns", 2),
            new Case("wordnet", "", "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived  \nnot a data line\n"
                    + "00015568 05 n 02 animal 0 beast 0 000 | a living organism  \n", 2, "not a WordNet data line", 2),
            new Case("prompt-completion", "", "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"prompt\":\"a\",\"completion\":\"\"}\n"
                    + "{\"prompt\":\"c\",\"completion\":\"d\"}\n", 2, "is empty", 2));

    @Test
    void everyReaderFailsOnTheFirstBadRowByDefaultNamingFileLineAndThePolicy() throws IOException {
        for (Case c : CASES) {
            Path f = write(c.reader() + ".txt", c.content());
            DatasetReader reader = ReadersTest.reader(c.reader(), c.overrides());
            assertThatThrownBy(() -> new BadRows(BadRows.Policy.FAIL).read(reader, new FileSource(f))).as(c.reader())
                    .isInstanceOf(DataException.class).hasMessageStartingWith(f + ":" + c.badLine() + ": ")
                    .hasMessageContaining(c.reason()).hasMessageEndingWith("(set data.bad-rows = skip to skip and count such rows)");
            // the plain SPI read is the default policy
            assertThatThrownBy(() -> reader.read(new FileSource(f))).as(c.reader()).hasMessageStartingWith(f + ":" + c.badLine() + ": ");
        }
    }

    @Test
    void everyReaderSkipsAndCountsUnderSkipNamingTheRow() throws IOException {
        for (Case c : CASES) {
            Path f = write(c.reader() + ".txt", c.content());
            BadRows bad = new BadRows(BadRows.Policy.SKIP);
            List<Example> ex = bad.read(ReadersTest.reader(c.reader(), c.overrides()), new FileSource(f));
            assertThat(ex).as(c.reader()).hasSize(c.good());
            assertThat(bad.skipped()).as(c.reader()).isEqualTo(1);
            assertThat(bad.named()).as(c.reader()).singleElement().asString().startsWith(f + ":" + c.badLine() + ": ").contains(c.reason());
        }
    }

    @Test
    void skipCountsEveryRowButNamesOnlyTheFirstTen() throws IOException {
        StringBuilder sb = new StringBuilder("sentence\tlabel\n");
        for (int i = 0; i < 25; i++) {
            sb.append("good ").append(i).append("\tpos\n").append("bad ").append(i).append('\n');
        }
        Path f = write("many.tsv", sb.toString());
        BadRows bad = new BadRows(BadRows.Policy.SKIP);
        assertThat(bad.read(ReadersTest.reader("tsv", ""), new FileSource(f))).hasSize(25);
        assertThat(bad.skipped()).isEqualTo(25);
        assertThat(bad.named()).hasSize(10).first().asString().startsWith(f + ":3: has 1 fields");
        assertThat(bad.named().get(9)).startsWith(f + ":21: ");
        assertThat(BadRows.describe("data.train", bad)).startsWith("data.train: skipped 25 bad rows (data.bad-rows = skip); the first 10: " + f + ":3: ");
        // every row bad: still an error, naming the first
        Path allBad = write("bad.tsv", "sentence\tlabel\nx\ny\n");
        assertThatThrownBy(() -> new BadRows(BadRows.Policy.SKIP).read(ReadersTest.reader("tsv", ""), new FileSource(allBad)))
                .isInstanceOf(DataException.class).hasMessageContaining("no examples (all 2 rows were bad, first: " + allBad + ":2: has 1 fields");
    }

    @Test
    void theOldPerReaderKeyPointsToTheNewPolicy() {
        for (String reader : List.of("tsv", "csv", "jsonl", "conll", "wordnet", "prompt-completion")) {
            assertThatThrownBy(() -> ReadersTest.reader(reader, "skip-bad-rows = true")).as(reader).isInstanceOf(InvalidConfigException.class)
                    .hasMessageContaining("skip-bad-rows").hasMessageContaining("data.bad-rows = skip");
        }
    }

    /**
     * A 1 MB line is read once (the example keeps the one string; what the reader allocates on the way is bounded by a few
     * times the line, not by the file) and is truncated later by the tokenizer, not by the reader.
     */
    @Test
    void aOneMegabyteLineIsKeptWholeOnceAndAllocationStaysLinear() throws IOException {
        String huge = "word ".repeat(200_000); // 1,000,000 characters
        Path f = write("huge.tsv", "sentence\tlabel\nshort\tpos\n" + huge + "\tneg\n");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        DatasetReader reader = ReadersTest.reader("tsv", "");
        reader.read(new FileSource(write("warm.tsv", "sentence\tlabel\nshort\tpos\n"))); // class loading off the books
        long before = threads.getCurrentThreadAllocatedBytes();
        List<Example> ex = reader.read(new FileSource(f));
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(ex).hasSize(2);
        assertThat((String) ex.get(1).fields().get(Fields.TEXT)).hasSize(1_000_000);
        // the line builder (doubling), the line, and the field: about 4 MB for 1 MB of ASCII; a quadratic or per-char copy would be far more
        assertThat(allocated).as("bytes allocated reading a 1 MB line").isLessThan(8_000_000L);
    }
}
