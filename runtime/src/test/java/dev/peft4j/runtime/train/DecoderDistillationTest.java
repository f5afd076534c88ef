package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The decoder distillation example ({@code examples/stories-distill.conf}) on real data, bounded for CI: the teacher is
 * stories260K fully fine-tuned on 8,000 SST-2 sentences ({@code examples/stories-sst2-full.conf}, the example's teacher
 * on a subset); the student, a 3-layer cut of stories260K ({@code model.keep-layers}), learns 1,600 of the sentences with
 * token-level KL from that teacher, against the same run without KD (same seed). Measured 2026-12-06 (200 held-out
 * reviews): teacher 11.63; students with KD 21.64 / 22.00 / 21.90 against 22.98 / 23.62 / 23.29 without (seeds 1-3; seed 42,
 * the test's: 22.35 against 23.67); KD at 0.93-0.94x the plain student's perplexity. The test asks for KD at most 0.97x. With the unadapted stories260K as
 * teacher (perplexity 72 on these reviews) KD made the student worse (25.88 against 23.67), as it should.
 */
class DecoderDistillationTest {
    static final Path EXAMPLE = Path.of("../examples/stories-distill.conf");
    static final Path TEACHER_EXAMPLE = Path.of("../examples/stories-sst2-full.conf");

    @TempDir
    Path dir;

    private RunResult run(Path example, String data, String name, String... more) {
        List<String> overrides = new ArrayList<>(List.of("peft4j.data=" + Path.of(data).toAbsolutePath(), "run.dir=" + dir.resolve(name),
                "train.checkpoints=false", "data.eval-limit=200", "train.eval-every=0", "train.load-best=false"));
        overrides.addAll(List.of(more));
        try (Peft4j peft4j = Peft4j.builder().build()) {
            return peft4j.experiment(example, overrides.toArray(String[]::new)).run();
        }
    }

    @Test
    void tokenKlFromAFullyFineTunedTeacherBeatsThePlainStudent() {
        String data = java.util.Optional.of(System.getProperty("peft4j.data", "")).filter(p -> !p.isBlank())
                .map(p -> Path.of(System.getProperty("peft4j.root", "")).resolve(p).normalize().toString()).orElse("");
        Assumptions.assumeTrue(!data.isEmpty() && Files.isDirectory(Path.of(data, "tinystories-260k"))
                && Files.isRegularFile(Path.of(data, "sst2", "train.tsv")), "needs -Dpeft4j.data with tinystories-260k and sst2");
        RunResult teacher = run(TEACHER_EXAMPLE, data, "teacher", "data.train-limit=8000");
        String[] student = {"data.train-limit=1600", "teacher.run=" + teacher.runDirectory()};
        RunResult kd = run(EXAMPLE, data, "kd", student);
        RunResult plain = run(EXAMPLE, data, "plain", "data.train-limit=1600", "objectives=[]", "teacher.run=null");
        double plainLoss = MetricsLog.read(plain.runDirectory().resolve("metrics.jsonl")).stream()
                .filter(o -> o.get("type").getAsString().equals("train")).findFirst().orElseThrow().get("loss").getAsDouble();
        double kdLoss = MetricsLog.read(kd.runDirectory().resolve("metrics.jsonl")).stream()
                .filter(o -> o.get("type").getAsString().equals("train")).findFirst().orElseThrow().get("loss").getAsDouble();
        System.out.printf(java.util.Locale.ROOT, "stories260K [0,2,4] student on SST-2: held-out perplexity %.2f at start; after %.2f without KD,"
                + " %.2f with token-level KD from the fully fine-tuned teacher (%.2f) (first logged loss %.4f vs %.4f)%n",
                kd.metrics().get("initial_perplexity"), plain.metrics().get("perplexity"), kd.metrics().get("perplexity"),
                teacher.metrics().get("perplexity"), plainLoss, kdLoss);
        assertThat(kdLoss).as("the token-level objective changes the training loss").isNotCloseTo(plainLoss, org.assertj.core.api.Assertions.within(1e-4));
        assertThat(kd.metrics().get("perplexity")).isLessThan(kd.metrics().get("initial_perplexity"));
        assertThat(teacher.metrics().get("perplexity")).as("the teacher is better than the plain student").isLessThan(plain.metrics().get("perplexity"));
        assertThat(kd.metrics().get("perplexity")).as("KD from the better teacher beats the plain student (same seed and data)")
                .isLessThan(0.97 * plain.metrics().get("perplexity"));
    }
}
