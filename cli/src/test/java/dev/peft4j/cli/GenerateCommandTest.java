package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class GenerateCommandTest {
    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Peft4jCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        String[] full = new String[args.length + 1];
        full[0] = "generate";
        System.arraycopy(args, 0, full, 1, args.length);
        int exit = cli.execute(full);
        return new Run(exit, out.toString(), err.toString());
    }

    static Path stories() {
        String data = java.util.Optional.of(System.getProperty("peft4j.data", "")).filter(p -> !p.isBlank()).map(p -> java.nio.file.Path.of(System.getProperty("peft4j.root", "")).resolve(p).normalize().toString()).orElse("");
        Path dir = data.isEmpty() ? null : Path.of(data, "tinystories-260k");
        Assumptions.assumeTrue(dir != null && Files.isDirectory(dir), "peft4j.data/tinystories-260k not available");
        return dir;
    }

    @Test
    void emptyPromptPrintsTheGoldenStory() throws Exception {
        Path dir = stories();
        Run r = run(dir.toString(), "--max-new-tokens", "200", "--ids", "--device", "cpu");
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> golden = Files.readAllLines(dir.resolve("golden_greedy_bos_200.txt"));
        assertThat(r.out()).isEqualTo(String.join("\n", golden) + "\n");
    }

    @Test
    void promptAndSamplingOptionsAndErrors() {
        Path dir = stories();
        Run greedy = run(dir.toString(), "--prompt", "Once upon a time", "--max-new-tokens", "12");
        assertThat(greedy.exit()).as(greedy.err()).isZero();
        assertThat(greedy.out().strip()).isNotEmpty();
        Run a = run(dir.toString(), "--prompt", "Once upon a time", "--max-new-tokens", "12", "--top-p", "0.9", "--seed", "5", "--ids");
        Run b = run(dir.toString(), "--prompt", "Once upon a time", "--max-new-tokens", "12", "--top-p", "0.9", "--seed", "5", "--ids");
        assertThat(a.exit()).isZero();
        assertThat(a.out()).isEqualTo(b.out());
        assertThat(a.out().lines().findFirst().orElseThrow().split(" ")).hasSize(12);

        Run zero = run(dir.toString(), "--max-new-tokens", "0");
        assertThat(zero.exit()).isEqualTo(1);
        assertThat(zero.err()).contains("max_new_tokens is 0");
        Run tooLong = run(dir.toString(), "--prompt", "Lily ".repeat(600), "--max-new-tokens", "5");
        assertThat(tooLong.exit()).isEqualTo(1);
        assertThat(tooLong.err()).contains("context window is 512");
    }

    @Test
    void anAdapterChangesTheTextAndMatchesTheUnmergedAdapterInJava(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path dir = stories();
        Path adapter = tmp.resolve("adapter");
        dev.peft4j.models.safetensors.SafetensorsTensorFiles files = new dev.peft4j.models.safetensors.SafetensorsTensorFiles();
        try (dev.peft4j.api.model.TransformerModel lm = dev.peft4j.models.Models.load(dir, "cpu")) {
            dev.peft4j.lora.LoraModel lora = dev.peft4j.lora.LoraModel.create(lm.module(), dev.peft4j.lora.LoraConfig.from(
                    com.typesafe.config.ConfigFactory.parseString("target-modules = [q_proj, v_proj], r = 4, alpha = 8").withFallback(
                            com.typesafe.config.ConfigFactory.defaultReference().getConfig("peft4j.methods.lora"))), "llama", 3);
            // lora_B starts at zero (the identity): give it values so the adapter changes the model
            lm.manager().getEngine().setRandomSeed(11);
            lora.trainableParameters().forEach((name, p) -> {
                if (name.contains("lora_B")) {
                    p.setValue(lm.manager().randomNormal(0f, 0.5f, p.shape(), ai.djl.ndarray.types.DataType.FLOAT32));
                }
            });
            lora.save(adapter, files);
        }
        Run plain = run(dir.toString(), "--max-new-tokens", "30", "--ids", "--device", "cpu");
        Run adapted = run(dir.toString(), "--max-new-tokens", "30", "--ids", "--device", "cpu", "--adapter", adapter.toString());
        assertThat(adapted.exit()).as(adapted.err()).isZero();
        String adaptedIds = adapted.out().lines().findFirst().orElseThrow();
        assertThat(adaptedIds).isNotEqualTo(plain.out().lines().findFirst().orElseThrow());

        // the CLI merges; the same adapter unmerged in Java gives the same greedy tokens
        try (dev.peft4j.api.model.TransformerModel lm = dev.peft4j.models.Models.load(dir, "cpu")) {
            dev.peft4j.lora.LoraModel.fromPretrained(lm.module(), "llama", adapter, files, "default");
            long[] ids = new dev.peft4j.models.generation.Generator(lm).generate(new long[] {1},
                    dev.peft4j.models.generation.GenerationConfig.greedy(30).withStopTokenIds(java.util.Set.of(2L))).tokens();
            assertThat(adaptedIds).isEqualTo(java.util.Arrays.stream(ids).mapToObj(Long::toString)
                    .collect(java.util.stream.Collectors.joining(" ")));
        }

        Run missing = run(dir.toString(), "--max-new-tokens", "5", "--adapter", tmp.resolve("nope").toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("--adapter").contains("nope").contains("no adapter_config.json");
    }

    /** A prefix adapter made by HF PEFT on stories260K (tools/prompt/make_peft_fixtures.py --stories): same greedy ids as PEFT. */
    @Test
    void aPeftPrefixAdapterGeneratesPeftsGreedyIds() throws Exception {
        Path dir = stories();
        Path adapter = Path.of(GenerateCommandTest.class.getResource("/prompt-fixtures/stories-prefix").toURI());
        long[] expected;
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager();
                dev.peft4j.models.safetensors.SafetensorsFile f = dev.peft4j.models.safetensors.SafetensorsFile.open(
                        adapter.resolve("expected.safetensors"))) {
            expected = f.load("greedy_ids", m).toLongArray();
        }
        Run r = run(dir.toString(), "--max-new-tokens", String.valueOf(expected.length), "--ids", "--device", "cpu", "--adapter", adapter.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out().lines().findFirst().orElseThrow()).isEqualTo(java.util.Arrays.stream(expected).mapToObj(Long::toString)
                .collect(java.util.stream.Collectors.joining(" ")));
    }
}
