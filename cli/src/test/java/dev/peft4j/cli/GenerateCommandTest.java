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
        String data = System.getProperty("peft4j.data", "");
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
}
