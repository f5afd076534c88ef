package dev.peft4j.runtime.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.DatasetReader;
import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.api.spi.DatasetReaderFactory;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The causal-LM data path: plain-text lines and blocks, prompt/completion JSONL, labels aligned with the ids. */
class CausalLmDataTest {
    static final FakeTokenizer TOKENIZER = new FakeTokenizer(64);

    @TempDir
    Path dir;

    /** Only the tokenizer is used by the readers. */
    static PluginContext context(TextTokenizer tokenizer) {
        return new PluginContext() {
            @Override
            public Optional<TransformerModel> model() {
                return Optional.empty();
            }

            @Override
            public Optional<TextTokenizer> tokenizer() {
                return Optional.ofNullable(tokenizer);
            }

            @Override
            public Device device() {
                return Device.cpu();
            }

            @Override
            public Optional<Path> runDirectory() {
                return Optional.empty();
            }

            @Override
            public Logger logger() {
                return LoggerFactory.getLogger(CausalLmDataTest.class);
            }

            @Override
            public TensorFiles tensorFiles() {
                return null;
            }

            @Override
            public long seed() {
                return 0;
            }
        };
    }

    @SuppressWarnings("unchecked")
    static <C> DatasetReader reader(String name, String overrides, TextTokenizer tokenizer) {
        DatasetReaderFactory<C> f = (DatasetReaderFactory<C>) new DataPlugin().datasetReaders().stream()
                .filter(x -> x.name().equals(name)).findFirst().orElseThrow();
        Config section = ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.datasets." + name));
        return f.create(f.parseConfig(section), context(tokenizer));
    }

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void textLinesAreDocumentsAndTrainEveryToken() throws IOException {
        Path f = write("docs.txt", "the cat sat\n\n  \nwent home today\n");
        List<Example> ex = reader("text", "", TOKENIZER).read(new FileSource(f));
        assertThat(ex).extracting(Example::origin).containsExactly(f + ":1", f + ":4");
        TokenizedDataset d = TokenizedDataset.encode(ex, TOKENIZER, 32, TaskKind.CAUSAL_LM, null, true);
        EncodedExample first = d.get(0);
        // [CLS] the cat sat [SEP]: labels are the ids themselves, 4 next-token targets
        assertThat(first.ids()).hasSize(5);
        assertThat(first.tokenLabels()).containsExactly(first.ids());
        assertThat(first.targetCount()).isEqualTo(4);
    }

    @Test
    void blocksHaveExactlyBlockSizeTokensAcrossLinesAndDropTheRemainder() throws IOException {
        // each line: [CLS] w w w [SEP] = 5 tokens; 7 lines = 35 tokens -> 4 blocks of 8, 3 dropped
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 7; i++) {
            text.append("w").append(i).append(" x y\n");
        }
        Path f = write("corpus.txt", text.toString());
        List<Example> ex = reader("text", "block-size = 8", TOKENIZER).read(new FileSource(f));
        assertThat(ex).hasSize(4);
        assertThat(ex).allSatisfy(e -> assertThat((List<?>) e.fields().get(Fields.INPUT_IDS)).hasSize(8));
        assertThat(ex.get(0).origin()).isEqualTo(f + ":1-2");
        // the concatenation is the lines' ids in order
        long[] line1 = TOKENIZER.encode("w0 x y", 100).ids();
        long[] line2 = TOKENIZER.encode("w1 x y", 100).ids();
        List<?> block0 = (List<?>) ex.get(0).fields().get(Fields.INPUT_IDS);
        for (int i = 0; i < 5; i++) {
            assertThat(block0.get(i)).isEqualTo(line1[i]);
        }
        for (int i = 0; i < 3; i++) {
            assertThat(block0.get(5 + i)).isEqualTo(line2[i]);
        }
        TokenizedDataset d = TokenizedDataset.encode(ex, TOKENIZER, 8, TaskKind.CAUSAL_LM, null, true);
        assertThat(d.get(3).tokenLabels()).containsExactly(d.get(3).ids());
        assertThatThrownBy(() -> TokenizedDataset.encode(ex, TOKENIZER, 6, TaskKind.CAUSAL_LM, null, true))
                .isInstanceOf(DataException.class).hasMessageContaining(f + ":1-2").hasMessageContaining("block of 8 tokens")
                .hasMessageContaining("model.max-length = 6");
    }

    @Test
    void aTextThatYieldsNoBlockIsAClearError() throws IOException {
        Path f = write("short.txt", "a b c\n\nd e\n");
        assertThatThrownBy(() -> reader("text", "block-size = 64", TOKENIZER).read(new FileSource(f)))
                .isInstanceOf(DataException.class).hasMessageContaining(f.toString())
                .hasMessageContaining("9 tokens in 2 non-blank lines, fewer than block-size = 64");
        Path blank = write("blank.txt", "\n \n");
        assertThatThrownBy(() -> reader("text", "", TOKENIZER).read(new FileSource(blank)))
                .isInstanceOf(DataException.class).hasMessageContaining(blank + ": no text");
        assertThatThrownBy(() -> reader("text", "block-size = 8", null)).isInstanceOf(DataException.class)
                .hasMessageContaining("needs the model's tokenizer");
    }

    @Test
    void promptCompletionTrainsOnlyTheCompletion() throws IOException {
        List<Example> ex = reader("prompt-completion", "", TOKENIZER).read(new FileSource(write("one.jsonl",
                "{\"prompt\": \"question: two plus two\", \"completion\": \" four\"}\n")));
        TokenizedDataset d = TokenizedDataset.encode(ex, TOKENIZER, 32, TaskKind.CAUSAL_LM, null, true);
        EncodedExample e = d.get(0);
        // [CLS] ques ##tion ##: two plus two | four [SEP]: the prompt's 7 tokens ignored, "four" and [SEP] trained
        long[] ids = e.ids();
        assertThat(ids).hasSize(9);
        assertThat(e.tokenLabels()).containsExactly(-100, -100, -100, -100, -100, -100, -100, ids[7], ids[8]);
        assertThat(e.targetCount()).isEqualTo(2);

        // renamed fields; a batch pads labels with -100 and has no token type ids
        List<Example> renamed = reader("prompt-completion", "prompt = q, completion = a", TOKENIZER)
                .read(new FileSource(write("r.jsonl", "{\"q\": \"hi\", \"a\": \" there friend\"}\n")));
        TokenizedDataset both = TokenizedDataset.encode(List.of(ex.get(0), renamed.get(0)), TOKENIZER, 32, TaskKind.CAUSAL_LM, null, true);
        Batch batch = new Batch(both.encoded(), 9, 0, TaskKind.CAUSAL_LM);
        try (NDManager m = Engine.getInstance().newBaseManager()) {
            ModelInput in = batch.input(m);
            assertThat(in.tokenTypeIds()).isNull();
            long[] labels = batch.labels(m).toLongArray();
            // row 1: [CLS] hi | ther ##e frie ##nd [SEP] + 2 padding: -100 x2, 5 trained, -100 x2
            long[] r = both.get(1).ids();
            assertThat(java.util.Arrays.copyOfRange(labels, 9, 18)).containsExactly(-100, -100, r[2], r[3], r[4], r[5], r[6], -100, -100);
            assertThat(in.attentionMask().toLongArray()).endsWith(1, 1, 1, 1, 1, 1, 1, 0, 0);
        }
    }

    @Test
    void aRowMissingAFieldNamesFileAndLine() throws IOException {
        Path f = write("bad.jsonl", "{\"prompt\": \"a\", \"completion\": \" b\"}\n\n{\"prompt\": \"c\"}\n");
        assertThatThrownBy(() -> reader("prompt-completion", "", TOKENIZER).read(new FileSource(f)))
                .isInstanceOf(DataException.class).hasMessageContaining(f + ":3: field 'completion' is missing")
                .hasMessageContaining("[prompt]");
        Path g = write("num.jsonl", "{\"prompt\": 3, \"completion\": \"x\"}\n");
        assertThatThrownBy(() -> reader("prompt-completion", "", TOKENIZER).read(new FileSource(g)))
                .hasMessageContaining(g + ":1: field 'prompt' is 3, expected a string");
        Path h = write("empty.jsonl", "{\"prompt\": \"p\", \"completion\": \"\"}\n");
        assertThatThrownBy(() -> reader("prompt-completion", "", TOKENIZER).read(new FileSource(h)))
                .hasMessageContaining(h + ":1: field 'completion' is empty");
    }

    @Test
    void aPromptThatFillsMaxLengthLeavesNothingAndSaysSo() throws IOException {
        Path f = write("long.jsonl", "{\"prompt\": \"one two three four five six\", \"completion\": \" seven\"}\n");
        List<Example> ex = reader("prompt-completion", "", TOKENIZER).read(new FileSource(f));
        assertThatThrownBy(() -> TokenizedDataset.encode(ex, TOKENIZER, 5, TaskKind.CAUSAL_LM, null, true))
                .isInstanceOf(DataException.class).hasMessageContaining(f + ":1: no completion token is left")
                .hasMessageContaining("model.max-length = 5");
    }
}
