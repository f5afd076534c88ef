package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.runtime.train.RunReport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code peft4j compare} on the tiny BERT test model (HF directory): two methods, each in a child JVM, 3 updates each. */
class CompareCommandTest {
    @TempDir
    Path dir;

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

    private Path experiment() throws Exception {
        Path conf = dir.resolve("exp.conf");
        Files.writeString(conf, "model.source = \"" + TrainEvalPredictCommandTest.TINY_BERT + "\"\n"
                + "method { name = lora, r = 4, alpha = 8 }\n"
                + "head { name = sequence-classification, pooling = cls }\n"
                + "data { train { path = \"" + tsv("train.tsv", 48, 1) + "\", format = tsv }, eval { path = \"" + tsv("dev.tsv", 16, 2)
                + "\", format = tsv } }\n"
                + "train { epochs = 1, batch-size = 8, log-every = 1 }\n");
        return conf;
    }

    /**
     * Trainable counts of the tiny BERT (vocab 60, hidden 32, 2 layers, intermediate 48, 24 positions, pooler): embeddings
     * 2,816, each layer 7,504, pooler 1,056: 18,880; the 2-class head 66. LoRA r=4 on query and value: 4 x 256 + 66 = 1,090;
     * full: 18,946.
     */
    @Test
    void trainsEachMethodInItsOwnJvmAndWritesTableCsvAndPlot() throws Exception {
        Path out = dir.resolve("cmp");
        TrainEvalPredictCommandTest.Result run = TrainEvalPredictCommandTest.run("compare", experiment().toString(), "--methods", "lora,full",
                "--out", out.toString(), "--max-train", "24", "--steps", "3", "--set", "full:train.learning-rate=5e-5", "--threads", "1");
        assertThat(run.code()).as(run.out() + run.err()).isZero();
        // the experiment's own method section is kept for lora; full gets { name = full } and its --set
        assertThat(Files.readString(out.resolve("configs/lora.conf"))).contains("r=4").contains("alpha=8");
        assertThat(Files.readString(out.resolve("configs/full.conf"))).contains("name=full").doesNotContain("alpha");
        List<String> csv = Files.readAllLines(out.resolve("methods.csv"));
        assertThat(csv).hasSize(3);
        assertThat(csv.get(0)).isEqualTo("method,trainable_params,metric,value,ms_per_step,peak_rss_mb,adapter_bytes,learning_rate,steps,status");
        String[] lora = csv.get(1).split(",");
        String[] full = csv.get(2).split(",");
        assertThat(lora[0]).isEqualTo("lora");
        assertThat(lora[1]).isEqualTo("1090");
        assertThat(full[0]).isEqualTo("full");
        assertThat(full[1]).isEqualTo("18946");
        for (String[] row : List.of(lora, full)) {
            assertThat(row[2]).isEqualTo("accuracy");
            JsonObject eval = JsonParser.parseString(Files.readString(out.resolve("runs/" + row[0] + "/eval.json"))).getAsJsonObject();
            assertThat(row[3]).isEqualTo(String.format(java.util.Locale.ROOT, "%.4f", eval.getAsJsonObject("metrics").get("accuracy").getAsDouble()));
            assertThat(Double.parseDouble(row[4])).isPositive();
            assertThat(Long.parseLong(row[5])).isGreaterThan(50); // a JVM with libtorch loaded
            assertThat(Long.parseLong(row[6])).isEqualTo(CompareCommand.directoryBytes(out.resolve("runs/" + row[0] + "/adapter")));
            assertThat(row[8]).isEqualTo("3");
            assertThat(row[9]).isEqualTo("ok");
        }
        assertThat(lora[7]).isEqualTo("5.0E-4"); // the trainer's default
        assertThat(full[7]).isEqualTo("5.0E-5");
        String svg = Files.readString(out.resolve("methods.svg"));
        assertThat(svg).startsWith("<svg").contains(">lora</text>").contains(">full</text>").contains(">1e3</text>").contains(">1e5</text>");
        assertThat(svg.split("<circle", -1)).hasSize(3);
        assertThat(Files.readString(out.resolve("methods.md"))).contains("| lora | 1,090 |").contains("| full | 18,946 |")
                .contains("![dev accuracy vs trainable parameters](methods.svg)");
        assertThat(run.out()).contains("| method | trainable params | dev accuracy |");
        // a second comparison into the same directory is refused before anything runs
        TrainEvalPredictCommandTest.Result again = TrainEvalPredictCommandTest.run("compare", experiment().toString(), "--methods", "lora",
                "--out", out.toString());
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("runs/lora exists: a comparison never resumes or mixes runs");
    }

    @Test
    void everyConfigIsValidatedBeforeTheFirstRunAndBadOptionsAreUsageErrors() throws Exception {
        Path out = dir.resolve("bad");
        TrainEvalPredictCommandTest.Result run = TrainEvalPredictCommandTest.run("compare", experiment().toString(), "--methods", "lora,ia3",
                "--out", out.toString(), "--set", "ia3:method.target-modules=[nope]", "--set", "lora:method.r=0");
        assertThat(run.code()).isNotZero();
        assertThat(run.err()).contains("the config of method lora").contains("method.r");
        assertThat(out.resolve("runs")).doesNotExist();
        TrainEvalPredictCommandTest.Result badSet = TrainEvalPredictCommandTest.run("compare", experiment().toString(), "--methods", "lora",
                "--out", out.toString(), "--set", "full:train.learning-rate=1");
        assertThat(badSet.code()).isEqualTo(2);
        assertThat(badSet.err()).contains("--set full:train.learning-rate=1: expected METHOD:KEY=VALUE with METHOD one of [lora]");
    }

    @Test
    void msPerStepIsTheMedianWindowWithoutTheFirstAndThePlotHasALogAxis() {
        List<JsonObject> lines = new ArrayList<>();
        double[][] windows = {{900, 10}, {100, 5}, {120, 5}, {300, 5}};
        for (double[] w : windows) {
            JsonObject o = new JsonObject();
            o.addProperty("type", "train");
            o.addProperty("forward_backward_ms", w[0]);
            o.addProperty("optimizer_ms", w[1]);
            lines.add(o);
        }
        JsonObject eval = new JsonObject();
        eval.addProperty("type", "eval");
        lines.add(eval);
        assertThat(CompareCommand.msPerStep(lines)).isEqualTo(125.0); // 105, 125, 305 without the first window
        assertThat(CompareCommand.msPerStep(lines.subList(0, 1))).isEqualTo(910.0);
        String svg = RunReport.scatter("t", List.of(new RunReport.Point("a", 150, 0.8), new RunReport.Point("b", 2.2e7, 0.9),
                new RunReport.Point("gone", 0, 0.5)), "x", "y");
        // decades 1e2 .. 1e8 as ticks; a point at x = 0 cannot be drawn on a log axis and is left out
        assertThat(svg).contains(">1e2</text>").contains(">1e8</text>").doesNotContain(">1e1</text>").doesNotContain("gone");
        assertThat(svg.split("<circle", -1)).hasSize(3);
    }
}
