package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** peft4j train, then eval and predict on the finished run, with the tiny BERT test model (HF directory). */
class TrainEvalPredictCommandTest {
    static final Path TINY_BERT = Path.of("..", "models", "src", "test", "resources", "tiny-bert", "model").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        CommandLine commandLine = Peft4jCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int code = commandLine.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    private Path tsv(String name, int n, long seed) throws Exception {
        Random r = new Random(seed);
        List<String> lines = new ArrayList<>();
        lines.add("sentence\tlabel");
        for (int i = 0; i < n; i++) {
            boolean good = r.nextBoolean();
            lines.add((good ? "good great fine" : "bad poor awful") + " the movie " + i % 7 + "\t" + (good ? "pos" : "neg"));
        }
        Path p = dir.resolve(name);
        Files.write(p, lines, StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void trainThenEvalThenPredict() throws Exception {
        Path train = tsv("train.tsv", 48, 1);
        Path eval = tsv("dev.tsv", 16, 2);
        Path conf = dir.resolve("exp.conf");
        Files.writeString(conf, "model.source = \"" + TINY_BERT + "\"\n"
                + "method { name = lora, r = 4, alpha = 8 }\n"
                + "head { name = sequence-classification, pooling = cls }\n"
                + "data { train { path = \"" + train + "\", format = tsv }, eval { path = \"" + eval + "\", format = tsv } }\n"
                + "train { epochs = 1, batch-size = 8 }\n");
        Path runDir = dir.resolve("run");
        // the trainer's console is the process's stderr
        java.io.PrintStream savedErr = System.err;
        java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
        Result trained;
        try {
            System.setErr(new java.io.PrintStream(console, true, StandardCharsets.UTF_8));
            trained = run("train", conf.toString(), "run.dir=\"" + runDir + "\"", "train.log-every=2");
        } finally {
            System.setErr(savedErr);
        }
        assertThat(trained.code()).as(trained.err()).isZero();
        java.util.regex.Matcher counts = java.util.regex.Pattern.compile("training labels: neg (\\d+), pos (\\d+)").matcher(console.toString());
        assertThat(counts.find()).as(console.toString()).isTrue();
        assertThat(Integer.parseInt(counts.group(1)) + Integer.parseInt(counts.group(2))).isEqualTo(48);
        assertThat(trained.out()).contains("accuracy=").contains("report: " + runDir.resolve("report.html").toAbsolutePath());
        assertThat(runDir.resolve("report.html")).exists();
        assertThat(runDir.resolve("adapter")).isDirectory();

        Result evaluated = run("eval", runDir.toString());
        assertThat(evaluated.code()).as(evaluated.err()).isZero();
        JsonObject metrics = JsonParser.parseString(evaluated.out().strip()).getAsJsonObject();
        String evalJson = Files.readString(runDir.resolve("eval.json"));
        assertThat(JsonParser.parseString(evalJson).getAsJsonObject().getAsJsonObject("metrics").get("accuracy"))
                .isEqualTo(metrics.get("accuracy"));

        // --timing N: the same metrics on stdout, and the inference rate (median of N timed passes) on stderr
        Result timed = run("eval", runDir.toString(), "--timing", "3");
        assertThat(timed.code()).as(timed.err()).isZero();
        assertThat(JsonParser.parseString(timed.out().strip()).getAsJsonObject()).isEqualTo(metrics);
        assertThat(timed.err()).containsPattern("inference: [0-9.]+ examples/s \\(median of 3 passes over [0-9]+ examples, batch [0-9]+; all: \\[[0-9.]+, [0-9.]+, [0-9.]+\\]\\); ([0-9.]+ examples per CPU-second|CPU time below the clock's resolution)");

        // an override scores another split: the same sentences with every label flipped give exactly 1 - accuracy
        Path flipped = dir.resolve("flipped.tsv");
        Files.write(flipped, Files.readAllLines(eval).stream()
                .map(l -> l.endsWith("\tpos") ? l.replace("\tpos", "\tneg") : l.replace("\tneg", "\tpos")).toList());
        Result other = run("eval", runDir.toString(), "data.eval.path=\"" + flipped + "\"");
        assertThat(other.code()).as(other.err()).isZero();
        assertThat(JsonParser.parseString(other.out().strip()).getAsJsonObject().get("accuracy").getAsDouble())
                .isCloseTo(1 - metrics.get("accuracy").getAsDouble(), org.assertj.core.api.Assertions.within(1e-9));
        Result badKey = run("eval", runDir.toString(), "data.eval.pth=x");
        assertThat(badKey.code()).isNotZero();
        assertThat(badKey.err()).contains("data.eval.pth").contains("unknown key");

        Path input = dir.resolve("in.txt");
        Files.writeString(input, "good great fine the movie\n{\"text\": \"bad poor awful\"}\n");
        Result predicted = run("predict", runDir.toString(), "--input", input.toString());
        assertThat(predicted.code()).as(predicted.err()).isZero();
        List<String> lines = predicted.out().strip().lines().toList();
        assertThat(lines).hasSize(2);
        JsonObject first = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertThat(first.get("text").getAsString()).isEqualTo("good great fine the movie");
        assertThat(first.get("label").getAsString()).isIn("neg", "pos");
        assertThat(first.get("score").getAsDouble()).isBetween(0.5, 1.0);
        assertThat(first.has("tokens")).isFalse();

        InputStream stdin = System.in;
        try {
            System.setIn(new ByteArrayInputStream("fine\n".getBytes(StandardCharsets.UTF_8)));
            Result fromStdin = run("predict", runDir.toString());
            assertThat(fromStdin.code()).as(fromStdin.err()).isZero();
            assertThat(fromStdin.out().strip().lines()).hasSize(1);
        } finally {
            System.setIn(stdin);
        }
    }

    @Test
    void evalOfADirectoryThatIsNoRunIsAClearError() {
        Result r = run("eval", dir.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("is not a run directory: resolved.conf is missing");
    }
}
