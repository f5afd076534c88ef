package dev.peft4j.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.cli.Peft4jCli;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunResult;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batch inference through Spark ({@code local[2]}) against {@code peft4j predict} on the same run: a
 * bounded LoRA run on all-MiniLM-L6-v2 trained on 64 SST-2 sentences and evaluated on the first 256 SST-2 dev
 * sentences, then those sentences predicted both ways, row for row (bounded for CI time on 2 cores). Needs {@code -Dpeft4j.data} (the shared SST-2 files) and the
 * MiniLM jar in the local Maven repository.
 */
class Peft4jSparkTest {
    static final StructType SCHEMA = new StructType().add("id", DataTypes.IntegerType).add("sentence", DataTypes.StringType)
            .add("label", DataTypes.StringType);

    @TempDir
    static Path dir;

    static SparkSession spark;
    static Path run;
    static List<String[]> dev;
    static double runAccuracy;
    static final int DEV_ROWS = 256;

    static Path data() {
        String data = System.getProperty("peft4j.data", "");
        Path root = Path.of(System.getProperty("peft4j.root", ""));
        Path p = data.isBlank() ? null : root.resolve(data).normalize();
        Assumptions.assumeTrue(p != null && Files.isRegularFile(p.resolve("sst2/dev.tsv")), "no shared datasets (-Dpeft4j.data)");
        return p;
    }

    @BeforeAll
    static void trainAndStart() throws Exception {
        Path data = data();
        Path root = Path.of(System.getProperty("peft4j.root", "..")).normalize();
        List<String> devLines = Files.readAllLines(data.resolve("sst2/dev.tsv"), StandardCharsets.UTF_8).subList(0, DEV_ROWS + 1);
        Path devFile = dir.resolve("dev-" + DEV_ROWS + ".tsv");
        Files.write(devFile, devLines, StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        try (Peft4j peft4j = Peft4j.builder().build()) {
            RunResult result = peft4j.experiment(root.resolve("examples/sst2-lora.conf"), "peft4j.data=\"" + data + "\"",
                    "data.train-limit=64", "train.epochs=1", "train.eval-every=0", "train.load-best=false", "model.device=cpu",
                    "data.eval.path=\"" + devFile + "\"", "run.dir=\"" + dir.resolve("run") + "\"").run();
            run = result.runDirectory();
            runAccuracy = result.metrics().get("accuracy");
        }
        System.out.printf(Locale.ROOT, "spark test: trained the LoRA run in %.1f s (dev accuracy %.4f)%n", (System.nanoTime() - t0) / 1e9, runAccuracy);
        dev = new ArrayList<>();
        for (String line : devLines.subList(1, devLines.size())) {
            int tab = line.lastIndexOf('\t');
            dev.add(new String[] {line.substring(0, tab), line.substring(tab + 1)});
        }
        spark = SparkSession.builder().master("local[2]").appName("peft4j-spark-test").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2").getOrCreate();
    }

    @AfterAll
    static void stop() {
        if (spark != null) {
            spark.stop();
        }
        Peft4jSpark.unloadAll();
    }

    static Dataset<Row> devFrame(int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < dev.size(); i++) {
            rows.add(RowFactory.create(i, dev.get(i)[0], dev.get(i)[1]));
        }
        return spark.createDataFrame(rows, SCHEMA).repartition(partitions);
    }

    @Test
    void sparkPredictionsEqualPeft4jPredictRowForRowAndTheRunLoadsOncePerJvm() throws Exception {
        // peft4j predict, the command itself, on the dev sentences
        Path input = dir.resolve("dev-sentences.txt");
        List<String> sentences = dev.stream().map(r -> r[0]).toList();
        Files.write(input, sentences, StandardCharsets.UTF_8);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cli = Peft4jCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        long t0 = System.nanoTime();
        int code = cli.execute("predict", run.toString(), "--input", input.toString());
        double cliSeconds = (System.nanoTime() - t0) / 1e9;
        assertThat(code).as(err.toString()).isZero();
        List<JsonObject> expected = out.toString().lines().map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
        assertThat(expected).hasSize(dev.size());

        // the same through Spark, over 4 partitions on 2 task slots
        t0 = System.nanoTime();
        List<Row> predicted = Peft4jSpark.predict(devFrame(4), run.toString(), "sentence").orderBy("id").collectAsList();
        double firstSeconds = (System.nanoTime() - t0) / 1e9;
        t0 = System.nanoTime();
        long again = Peft4jSpark.predict(devFrame(4), run.toString(), "sentence").count();
        double warmSeconds = (System.nanoTime() - t0) / 1e9;
        assertThat(again).isEqualTo(dev.size());

        assertThat(predicted).hasSize(dev.size());
        double maxScoreDifference = 0;
        int correct = 0;
        for (int i = 0; i < dev.size(); i++) {
            Row r = predicted.get(i);
            assertThat(r.getInt(0)).isEqualTo(i);
            assertThat(r.getString(1)).isEqualTo(expected.get(i).get("text").getAsString());
            assertThat(r.getString(3)).as("row %d: %s", i, dev.get(i)[0]).isEqualTo(expected.get(i).get("label").getAsString());
            maxScoreDifference = Math.max(maxScoreDifference, Math.abs(r.getFloat(4) - expected.get(i).get("score").getAsFloat()));
            correct += r.getString(3).equals(dev.get(i)[1]) ? 1 : 0;
        }
        assertThat(maxScoreDifference).isLessThanOrEqualTo(1e-5);
        // the run's own evaluation of the dev split gives the same accuracy as the Spark predictions
        assertThat((double) correct / dev.size()).isCloseTo(runAccuracy, org.assertj.core.data.Offset.offset(1e-9));
        // one load in this JVM (local mode: the driver is the executor) for two jobs of 4 partitions each
        assertThat(Peft4jSpark.loadsInThisJvm(run.toString())).isEqualTo(1);
        System.out.printf(Locale.ROOT, "spark test: %d rows; peft4j predict %.2f s (%.0f rows/s, load included); Spark local[2] first job %.2f s"
                + " (%.0f rows/s, load included), warm job %.2f s (%.0f rows/s); max score difference %.2e; accuracy %.4f%n",
                dev.size(), cliSeconds, dev.size() / cliSeconds, firstSeconds, dev.size() / firstSeconds, warmSeconds,
                dev.size() / warmSeconds, maxScoreDifference, (double) correct / dev.size());
    }

    @Test
    void encodeAddsUnitLengthEmbeddingsAndNullTextGivesNull() {
        List<Row> rows = new ArrayList<>();
        rows.add(RowFactory.create(0, dev.get(0)[0], "x"));
        rows.add(RowFactory.create(1, null, "x"));
        rows.add(RowFactory.create(2, dev.get(0)[0], "x"));
        rows.add(RowFactory.create(3, dev.get(5)[0], "x"));
        List<Row> out = Peft4jSpark.encode(spark.createDataFrame(rows, SCHEMA).repartition(2), run.toString(), "sentence")
                .orderBy("id").collectAsList();
        assertThat(out).hasSize(4);
        assertThat(out.get(1).isNullAt(3)).isTrue();
        List<Float> a = out.get(0).getList(3);
        List<Float> b = out.get(2).getList(3);
        List<Float> c = out.get(3).getList(3);
        assertThat(a).hasSize(384);
        assertThat(b).hasSize(384);
        // the same sentence in another batch (other partition, other padding length): equal up to float rounding
        for (int i = 0; i < a.size(); i++) {
            assertThat(b.get(i)).as("element %d", i).isCloseTo(a.get(i), org.assertj.core.data.Offset.offset(1e-5f));
        }
        double norm = 0;
        double dot = 0;
        for (int i = 0; i < a.size(); i++) {
            norm += a.get(i) * a.get(i);
            dot += a.get(i) * c.get(i);
        }
        assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(dot).isLessThan(0.999); // a different sentence, a different vector
        List<Row> predicted = Peft4jSpark.predict(spark.createDataFrame(rows, SCHEMA), run.toString(), "sentence").orderBy("id").collectAsList();
        assertThat(predicted.get(1).isNullAt(3)).isTrue();
        assertThat(predicted.get(1).isNullAt(4)).isTrue();
        assertThat(predicted.get(0).getString(3)).isIn("0", "1");
    }

    @Test
    void aMissingOrNonStringTextColumnIsRefusedBeforeTheJobRuns() {
        Dataset<Row> frame = devFrame(1);
        assertThatThrownBy(() -> Peft4jSpark.predict(frame, run.toString(), "text"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("text column \"text\" is not in the dataset; its columns are [id, sentence, label]");
        assertThatThrownBy(() -> Peft4jSpark.encode(frame, run.toString(), "id"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("text column \"id\" is int, expected string (cast it: col(\"id\").cast(\"string\"))");
        assertThatThrownBy(() -> Peft4jSpark.predict(frame.withColumnRenamed("label", "prediction"), run.toString(), "sentence"))
                .hasMessageContaining("already has a column \"prediction\"");
    }

    @Test
    void aRunDirectoryThatTheExecutorCannotReadIsAnErrorNamingThePathAndTheExecutor() {
        String missing = dir.resolve("no-such-run").toString();
        assertThatThrownBy(() -> Peft4jSpark.predict(devFrame(2), missing, "sentence").count())
                .hasStackTraceContaining("run directory " + missing + " is not a readable directory on the driver (executor driver) on host")
                .hasStackTraceContaining("(it does not exist there)");
        assertThat(Peft4jSpark.loadsInThisJvm(missing)).isZero();
    }
}
