package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code peft4j sweep}: a 2-trial grid of the tiny BERT, and a misspelt key refused before anything runs. */
class SweepCommandTest {
    @TempDir
    Path dir;

    @Test
    void gridSweepWritesItsSummaryAndATypoIsADidYouMean() throws Exception {
        Random r = new Random(3);
        List<String> lines = new ArrayList<>(List.of("sentence\tlabel"));
        for (int i = 0; i < 24; i++) {
            boolean good = r.nextBoolean();
            lines.add((good ? "good great" : "bad poor") + " movie " + i % 5 + "\t" + (good ? "pos" : "neg"));
        }
        Path data = dir.resolve("data.tsv");
        Files.write(data, lines, StandardCharsets.UTF_8);
        Path conf = dir.resolve("exp.conf");
        Files.writeString(conf, "model { source = \"" + TrainEvalPredictCommandTest.TINY_BERT + "\", max-length = 16 }\n"
                + "method { name = lora, r = 2 }\nhead { name = sequence-classification, pooling = cls }\n"
                + "data { train { path = \"" + data + "\", format = tsv }, holdout = 0.25 }\ntrain { max-steps = 2, batch-size = 8 }\n");
        Path sweepDir = dir.resolve("sw");

        TrainEvalPredictCommandTest.Result typo = TrainEvalPredictCommandTest.run("sweep", conf.toString(), "--grid", "train.learning-rte=1e-3,2e-3",
                "--dir", sweepDir.toString());
        assertThat(typo.code()).isEqualTo(1);
        assertThat(typo.err()).contains("sweep key 'train.learning-rte' is not a key of the experiment (did you mean 'train.learning-rate'?)");
        assertThat(sweepDir).doesNotExist();

        java.io.PrintStream saved = System.err;
        TrainEvalPredictCommandTest.Result ok;
        try {
            System.setErr(new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            ok = TrainEvalPredictCommandTest.run("sweep", conf.toString(), "train.seed=5", "--grid", "train.learning-rate=1e-3,2e-3",
                    "--dir", sweepDir.toString());
        } finally {
            System.setErr(saved);
        }
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("trials: 2 done, 0 failed").contains("best: trial-00").contains("summary: ");
        assertThat(Files.readAllLines(sweepDir.resolve("summary.csv"))).hasSize(3);
        assertThat(Files.readString(sweepDir.resolve("trial-002").resolve("resolved.conf"))).containsPattern("learning-rate\\s*=\\s*0.002\\b")
                .containsPattern("seed\\s*=\\s*5");
        assertThat(sweepDir.resolve("sweep.html")).exists();
    }
}
