package dev.peft4j.models.bert;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.Engines;
import dev.peft4j.models.Models;
import dev.peft4j.models.maven.RealMavenModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Issue 2 item 10 on the real all-MiniLM-L6-v2 (22.6M parameters): 300 forward+backward steps, each
 * in a per-step sub-manager, leave the live-array count exactly flat and resident memory flat. A leak
 * of one step's activations (batch 2 x 8) would add several MB per step, about 1 GB over the run.
 */
class MiniLmMemoryTest {
    @Test
    void liveArraysAndRssStayFlatOver300StepsOnMiniLm() throws IOException {
        Engines.pytorch();
        Path dir = RealMavenModels.directory(RealMavenModels.MINILM);
        try (TransformerModel model = Models.load(dir, Device.cpu())) {
            NDManager modelManager = model.manager();
            // The word-embedding table's dense gradient (30522 x 384) would dominate the step time; the
            // rest of the model (21.4M parameters) trains. One thread: fastest for such small steps.
            model.module().find("embeddings.word_embeddings").setTrainable(false);
            int threads = ai.djl.pytorch.jni.JniUtils.getNumThreads();
            ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
            Random random = new Random(3);
            int arraysAt50 = -1;
            long rssAt50 = -1;
            long start = System.nanoTime();
            for (int step = 1; step <= 300; step++) {
                try (NDManager stepManager = modelManager.newSubManager()) {
                    long[][] ids = new long[2][8];
                    long[][] mask = new long[2][8];
                    for (int r = 0; r < 2; r++) {
                        int len = 3 + random.nextInt(6);
                        ids[r][0] = 101;
                        for (int i = 1; i < len; i++) {
                            ids[r][i] = 1000 + random.nextInt(29000);
                        }
                        for (int i = 0; i < len; i++) {
                            mask[r][i] = 1;
                        }
                    }
                    ModelInput input = new ModelInput(stepManager.create(ids), stepManager.create(mask));
                    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                        NDArray hidden = model.forward(input, ForwardContext.training(stepManager)).lastHiddenState();
                        collector.backward(hidden.mul(hidden).mean());
                    }
                }
                if (step % 100 == 0) {
                    System.out.printf("step %d: %.1f ms/step so far%n", step, (System.nanoTime() - start) / 1e6 / step);
                }
                if (step == 50) {
                    arraysAt50 = BertMemoryTest.liveArrays(modelManager);
                    rssAt50 = rssKb();
                }
            }
            int arraysAt300 = BertMemoryTest.liveArrays(modelManager);
            long rssAt300 = rssKb();
            System.out.printf("MiniLM 300 steps: live arrays %d -> %d, RSS %d MB -> %d MB%n", arraysAt50, arraysAt300,
                    rssAt50 / 1024, rssAt300 / 1024);
            assertThat(arraysAt50).isEqualTo(model.module().namedParameters().size());
            assertThat(arraysAt300).isEqualTo(arraysAt50);
            ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
            assertThat(rssAt300 - rssAt50).as("RSS growth in KB from step 50 to 300").isLessThan(150 * 1024);
        }
    }

    /** Resident set size of this JVM in KB, from /proc (Linux). */
    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
