package dev.peft4j.runtime.sweep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.runtime.Interruption;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunInterruptedException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sweep plans, and real sweeps of the tiny BERT (HF directory): summary, a failed trial, an interrupted sweep resumed. */
class SweepTest {
    static final Path TINY_BERT = Path.of("..", "models", "src", "test", "resources", "tiny-bert", "model").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    @Test
    void gridIsEveryCombinationFirstKeySlowest() {
        SweepPlan plan = SweepPlan.parse(List.of("method.r=4,8,16", "train.learning-rate=1e-3,2e-3"), List.of(), null, 0);
        assertThat(plan.trials()).hasSize(6);
        assertThat(plan.trials().get(0).id()).isEqualTo("trial-001");
        assertThat(plan.trials().get(0).overrideArguments()).containsExactly("method.r=4", "train.learning-rate=1e-3");
        assertThat(plan.trials().get(1).overrideArguments()).containsExactly("method.r=4", "train.learning-rate=2e-3");
        assertThat(plan.trials().get(5).overrideArguments()).containsExactly("method.r=16", "train.learning-rate=2e-3");
        assertThat(plan.keys()).containsExactly("method.r", "train.learning-rate");
        // commas inside lists and quotes do not split values
        SweepPlan lists = SweepPlan.parse(List.of("method.target-modules=[query,value],[key],\"a,b\""), null, null, 0);
        assertThat(lists.trials()).extracting(t -> t.overrides().get("method.target-modules")).containsExactly("[query,value]", "[key]", "\"a,b\"");
        assertThat(SweepPlan.fromJson(plan.toJson())).isEqualTo(plan);
    }

    @Test
    void randomPlanIsSeededAndStaysInItsRanges() {
        SweepPlan a = SweepPlan.parse(List.of("method.r=4,8"), List.of("train.learning-rate=1e-4:1e-2:log", "train.epochs=1:3:int",
                "method.dropout=0:0.2"), 50, 7);
        SweepPlan b = SweepPlan.parse(List.of("method.r=4,8"), List.of("train.learning-rate=1e-4:1e-2:log", "train.epochs=1:3:int",
                "method.dropout=0:0.2"), 50, 7);
        SweepPlan c = SweepPlan.parse(List.of("method.r=4,8"), List.of("train.learning-rate=1e-4:1e-2:log", "train.epochs=1:3:int",
                "method.dropout=0:0.2"), 50, 8);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
        assertThat(a.trials()).hasSize(50);
        int belowMillis = 0;
        for (SweepPlan.Trial t : a.trials()) {
            double lr = Double.parseDouble(t.overrides().get("train.learning-rate"));
            assertThat(lr).isBetween(1e-4, 1e-2);
            belowMillis += lr < 1e-3 ? 1 : 0;
            assertThat(t.overrides().get("train.epochs")).isIn("1", "2", "3");
            assertThat(Double.parseDouble(t.overrides().get("method.dropout"))).isBetween(0.0, 0.2);
            assertThat(t.overrides().get("method.r")).isIn("4", "8");
        }
        // log-uniform: half the mass below the geometric midpoint 1e-3 (a uniform draw would put 9% there)
        assertThat(belowMillis).isBetween(15, 35);
        assertThat(a.trials().stream().map(t -> t.overrides().get("train.epochs")).distinct().count()).isEqualTo(3);
    }

    @Test
    void badArgumentsAreClearErrors() {
        assertThatThrownBy(() -> SweepPlan.parse(List.of("method.r"), null, null, 0)).hasMessageContaining("expected KEY=V1,V2");
        assertThatThrownBy(() -> SweepPlan.parse(List.of("method.r=4,,8"), null, null, 0)).hasMessageContaining("no empty value");
        assertThatThrownBy(() -> SweepPlan.parse(List.of(), List.of("train.learning-rate=1e-4:1e-2:log"), null, 0))
                .hasMessageContaining("--range needs --random N");
        assertThatThrownBy(() -> SweepPlan.parse(List.of(), List.of("train.learning-rate=0:1e-2:log"), 3, 0)).hasMessageContaining("LOW > 0");
        assertThatThrownBy(() -> SweepPlan.parse(List.of(), List.of("train.learning-rate=1:2:cubic"), 3, 0))
                .hasMessageContaining("'cubic' is not one of lin, log, int");
        assertThatThrownBy(() -> SweepPlan.parse(List.of("run.dir=a,b"), null, null, 0)).hasMessageContaining("set by the sweep itself");
        assertThatThrownBy(() -> SweepPlan.parse(List.of(), List.of(), null, 0)).hasMessageContaining("nothing to sweep");
    }

    private Path experiment() throws Exception {
        Path train = tsv("train.tsv", 32, 1);
        Path eval = tsv("dev.tsv", 16, 2);
        Path conf = dir.resolve("exp.conf");
        Files.writeString(conf, "model { source = \"" + TINY_BERT + "\", max-length = 16 }\n"
                + "method { name = lora, r = 4, alpha = 8 }\n"
                + "head { name = sequence-classification, pooling = cls }\n"
                + "data { train { path = \"" + train + "\", format = tsv }, eval { path = \"" + eval + "\", format = tsv } }\n"
                + "train { epochs = 1, batch-size = 8, eval-every = 2, log-every = 1, learning-rate = 5e-3 }\n");
        return conf;
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
    void sweepRecordsAFailedTrialGoesOnAndResumesAfterAnInterruption() throws Exception {
        Path conf = experiment();
        Path missing = dir.resolve("no-such-model");
        SweepPlan plan = SweepPlan.parse(List.of("model.source=\"" + TINY_BERT + "\",\"" + missing + "\"", "method.r=2,4"), null, null, 0);
        Path sweepDir = dir.resolve("sweep");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        List<String> ran = new ArrayList<>();
        try (Peft4j peft4j = Peft4j.builder().build()) {
            // first attempt: a stop is requested when trial-001 has finished; the sweep stops before trial-002
            Sweep first = new Sweep(peft4j, conf, List.of(), sweepDir, plan).console(new PrintStream(console, true, StandardCharsets.UTF_8))
                    .afterTrial(r -> {
                        ran.add(r.trial().id());
                        Interruption.request("INT");
                    });
            try {
                assertThatThrownBy(first::run).isInstanceOf(RunInterruptedException.class).hasMessageContaining("run the same sweep again");
            } finally {
                Interruption.clear();
            }
            assertThat(ran).containsExactly("trial-001");
            assertThat(Files.readString(sweepDir.resolve(SweepSummary.MARKDOWN))).contains("4 trials: 1 done, 0 failed, 3 pending");
            assertThat(sweepDir.resolve("trial-002")).doesNotExist();
            Path firstRecord = sweepDir.resolve("trial-001").resolve(SweepTrialRunner.TRIAL_FILE);
            FileTime firstWritten = Files.getLastModifiedTime(firstRecord);

            // a different plan in the same directory is refused before anything runs
            SweepPlan other = SweepPlan.parse(List.of("method.r=2,4"), null, null, 0);
            assertThatThrownBy(() -> new Sweep(peft4j, conf, List.of(), sweepDir, other).console(new PrintStream(console)).run())
                    .hasMessageContaining("holds another sweep").hasMessageContaining("4 trials over [model.source, method.r], now 2 over [method.r]");

            // second attempt: trial-001 is kept, the rest run; the missing model fails two trials and the sweep goes on
            List<TrialResult> results = new Sweep(peft4j, conf, List.of(), sweepDir, plan).console(new PrintStream(console, true,
                    StandardCharsets.UTF_8)).afterTrial(r -> ran.add(r.trial().id())).run();
            assertThat(ran).containsExactly("trial-001", "trial-002", "trial-003", "trial-004");
            assertThat(Files.getLastModifiedTime(firstRecord)).isEqualTo(firstWritten);
            assertThat(results).extracting(TrialResult::status).containsExactly(TrialResult.Status.DONE, TrialResult.Status.DONE,
                    TrialResult.Status.FAILED, TrialResult.Status.FAILED);
            for (TrialResult r : results.subList(0, 2)) {
                assertThat(r.metric()).contains("accuracy");
                assertThat(r.value().orElseThrow()).isBetween(0.0, 1.0);
                assertThat(r.bestStep().orElseThrow()).isIn(2L, 4L); // 32 examples / batch 8 = 4 steps, evaluated every 2
                assertThat(r.runDirectory().resolve("report.html")).exists();
                assertThat(r.runDirectory().resolve("adapter").resolve("adapter_config.json")).exists();
            }
            // the trials really used their overrides: rank 2 vs rank 4 LoRA matrices
            assertThat(Files.readString(sweepDir.resolve("trial-001").resolve("resolved.conf"))).containsPattern("\\br\\s*=\\s*2\\b");
            assertThat(Files.readString(sweepDir.resolve("trial-002").resolve("resolved.conf"))).containsPattern("\\br\\s*=\\s*4\\b");
            assertThat(results.get(2).error().orElseThrow()).contains(missing.toString());
            assertThat(results.get(2).runDirectory()).isEqualTo(sweepDir.resolve("trial-003"));

            List<String> csv = Files.readAllLines(sweepDir.resolve(SweepSummary.CSV));
            assertThat(csv).hasSize(5);
            assertThat(csv.get(0)).isEqualTo("trial,status,model.source,method.r,metric,value,best_step,train_s,wall_s,error");
            assertThat(csv.get(1)).startsWith("trial-001,done,").contains(",accuracy,");
            assertThat(csv.get(3)).startsWith("trial-003,failed,").contains(missing.toString());
            String md = Files.readString(sweepDir.resolve(SweepSummary.MARKDOWN));
            assertThat(md).contains("4 trials: 2 done, 2 failed, 0 pending").contains("(best)");
            TrialResult best = SweepSummary.best(results).orElseThrow();
            assertThat(best.value().orElseThrow()).isCloseTo(Math.max(results.get(0).value().get(), results.get(1).value().get()), within(0.0));
            String html = Files.readString(sweepDir.resolve(SweepSummary.HTML));
            assertThat(html).contains("trial-001/report.html").contains("eval accuracy").contains("training loss");
            // two done trials: two curves in each of the two charts
            assertThat(html.split("<polyline", -1).length - 1).isEqualTo(4);

            // a third run has nothing left to do
            List<String> none = new ArrayList<>();
            new Sweep(peft4j, conf, List.of(), sweepDir, plan).console(new PrintStream(console)).afterTrial(r -> none.add(r.trial().id())).run();
            assertThat(none).isEmpty();
        }
    }

    @Test
    void unknownKeyOrBadValueIsRefusedBeforeAnythingRuns() throws Exception {
        Path conf = experiment();
        Path sweepDir = dir.resolve("sweep");
        try (Peft4j peft4j = Peft4j.builder().build()) {
            SweepPlan typo = SweepPlan.parse(List.of("method.rr=2,4", "train.learning-rat=1e-3"), null, null, 0);
            assertThatThrownBy(() -> new Sweep(peft4j, conf, List.of(), sweepDir, typo).run()).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("sweep key 'method.rr' is not a key of the experiment (did you mean 'method.r'?)")
                    .hasMessageContaining("'train.learning-rat' is not a key of the experiment (did you mean 'train.learning-rate'?)");
            SweepPlan badValue = SweepPlan.parse(List.of("method.r=4,-1"), null, null, 0);
            assertThatThrownBy(() -> new Sweep(peft4j, conf, List.of(), sweepDir, badValue).run()).hasMessageContaining("trial-002 (method.r=-1)")
                    .hasMessageContaining("method.r");
            // keys with a null default exist too
            Map<String, List<String>> grid = new LinkedHashMap<>();
            grid.put("method.target-modules", List.of("[query]", "[value]"));
            new Sweep(peft4j, conf, List.of(), sweepDir, SweepPlan.grid(grid)).validate();
        }
        assertThat(sweepDir).doesNotExist();
    }
}
