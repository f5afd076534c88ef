package dev.peft4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.sweep.Sweep;
import dev.peft4j.runtime.sweep.SweepPlan;
import dev.peft4j.runtime.sweep.SweepSummary;
import dev.peft4j.runtime.sweep.SweepTrialRunner;
import dev.peft4j.runtime.sweep.TrialResult;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sweep of the tiny BERT (HF directory of the models module) with each trial a Spark task in local[2]: the same
 * trial records and summary as the same sweep run by {@link Sweep} on the driver, a failed trial recorded, and a
 * second run resumes (nothing left to do).
 */
class Peft4jSparkSweepTest {
    static final Path TINY_BERT = Path.of("..", "models", "src", "test", "resources", "tiny-bert", "model").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    private Path experiment() throws Exception {
        List<Path> splits = new ArrayList<>();
        for (String name : List.of("train", "dev")) {
            Random r = new Random(name.length());
            List<String> lines = new ArrayList<>(List.of("sentence\tlabel"));
            for (int i = 0; i < (name.equals("train") ? 32 : 16); i++) {
                boolean good = r.nextBoolean();
                lines.add((good ? "good great fine" : "bad poor awful") + " the movie " + i % 7 + "\t" + (good ? "pos" : "neg"));
            }
            Path p = dir.resolve(name + ".tsv");
            Files.write(p, lines, StandardCharsets.UTF_8);
            splits.add(p);
        }
        Path conf = dir.resolve("exp.conf");
        Files.writeString(conf, "model { source = \"" + TINY_BERT + "\", max-length = 16, device = cpu }\n"
                + "method { name = lora, r = 4, alpha = 8 }\n"
                + "head { name = sequence-classification, pooling = cls }\n"
                + "data { train { path = \"" + splits.get(0) + "\", format = tsv }, eval { path = \"" + splits.get(1) + "\", format = tsv } }\n"
                + "train { epochs = 1, batch-size = 8, eval-every = 2, log-every = 2, learning-rate = 5e-3 }\n");
        return conf;
    }

    @Test
    void eachTrialIsASparkTaskAndTheDriverWritesTheSameSummaryAsALocalSweep() throws Exception {
        Path conf = experiment();
        Path missing = dir.resolve("no-such-model");
        SweepPlan plan = SweepPlan.parse(List.of("method.r=2,4", "train.learning-rate=5e-3,1e-2"), null, null, 0);
        List<TrialResult> distributed;
        SparkSession spark = SparkSession.builder().master("local[2]").appName("peft4j-sweep-test").config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            distributed = Peft4jSparkSweep.run(spark, conf, List.of(), dir.resolve("spark-sweep"), plan);
            distributed.forEach(r -> System.out.println("spark sweep: " + r.trial().id() + " " + r.status() + " " + r.error().orElse("")));
            assertThat(distributed).extracting(TrialResult::status).as("errors: %s", distributed.stream().map(TrialResult::error).toList())
                    .containsOnly(TrialResult.Status.DONE);
            // a second call finds every trial recorded and runs no task
            long jobsBefore = spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
            List<TrialResult> again = Peft4jSparkSweep.run(spark, conf, List.of(), dir.resolve("spark-sweep"), plan);
            assertThat(spark.sparkContext().statusTracker().getJobIdsForGroup(null).length).isEqualTo(jobsBefore);
            assertThat(again).extracting(TrialResult::value).isEqualTo(distributed.stream().map(TrialResult::value).toList());
            // a trial whose run fails is recorded as failed, the others go on
            SweepPlan withFailure = SweepPlan.parse(List.of("model.source=\"" + TINY_BERT + "\",\"" + missing + "\""), null, null, 0);
            List<TrialResult> mixed = Peft4jSparkSweep.run(spark, conf, List.of(), dir.resolve("spark-failing"), withFailure);
            mixed.forEach(r -> System.out.println("spark sweep: " + r.trial().id() + " " + r.status() + " " + r.error().orElse("")));
            assertThat(mixed).extracting(TrialResult::status).containsExactly(TrialResult.Status.DONE, TrialResult.Status.FAILED);
            assertThat(mixed.get(1).error().orElseThrow()).contains(missing.toString());
        } finally {
            spark.stop();
        }
        List<TrialResult> local;
        try (Peft4j peft4j = Peft4j.builder().build()) {
            local = new Sweep(peft4j, conf, List.of(), dir.resolve("local-sweep"), plan).console(new PrintStream(PrintStream.nullOutputStream()))
                    .run();
        }
        assertThat(distributed).hasSize(4).allSatisfy(r -> {
            assertThat(r.status()).isEqualTo(TrialResult.Status.DONE);
            assertThat(r.runDirectory().resolve(SweepTrialRunner.TRIAL_FILE)).exists();
            assertThat(r.runDirectory().resolve("metrics.jsonl")).exists();
        });
        // the trials used their overrides: LoRA rank 2 in the first, 4 in the last
        assertThat(Files.readString(distributed.get(0).runDirectory().resolve("resolved.conf"))).containsPattern("\\br\\s*=\\s*2\\b");
        assertThat(Files.readString(distributed.get(3).runDirectory().resolve("resolved.conf"))).containsPattern("\\br\\s*=\\s*4\\b");
        // same plan, same seeds: the same metric per trial as the local sweep, and the same summary but for the timings
        for (int i = 0; i < 4; i++) {
            assertThat(distributed.get(i).value()).isPresent().isEqualTo(local.get(i).value());
            assertThat(distributed.get(i).metric()).isEqualTo(local.get(i).metric());
        }
        assertThat(withoutTimings(dir.resolve("spark-sweep").resolve(SweepSummary.CSV)))
                .isEqualTo(withoutTimings(dir.resolve("local-sweep").resolve(SweepSummary.CSV)));
        for (String f : List.of(SweepSummary.MARKDOWN, SweepSummary.HTML, Sweep.PLAN_FILE)) {
            assertThat(dir.resolve("spark-sweep").resolve(f)).exists();
        }
    }

    /** summary.csv without its train_s and wall_s columns. */
    static List<String> withoutTimings(Path csv) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(csv)) {
            List<String> cells = new ArrayList<>(List.of(line.split(",", -1)));
            int n = cells.size();
            cells.remove(n - 2); // wall_s
            cells.remove(n - 3); // train_s
            out.add(String.join(",", cells));
        }
        return out;
    }
}
