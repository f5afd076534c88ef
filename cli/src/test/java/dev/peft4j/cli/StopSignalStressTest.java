package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #16: SIGINT/SIGTERM during training killed the JVM with SIGSEGV in {@code torchBackward} (the JVM's exit ran
 * libtorch's static destructors under the running call). Child JVMs train LoRA on all-MiniLM-L6-v2 (a random 20k-parameter
 * BERT never crashed in 10 signals, a 3.2M one once in 16: its steps spend too little time in backward); each gets SIGINT or SIGTERM at a
 * seeded random moment after training started; every one must exit 130/143 with a checkpoint and no {@code hs_err} file,
 * and the run resumed after all the interruptions must end with exactly the tensors of a run never interrupted.
 *
 * <p>Bounded in CI (3 signals). The long form: {@code -Dpeft4j.stress.signals=40}. With
 * {@code -Dpeft4j.stress.stop-signals=false} the children keep the JVM's own signal handling, which is how the crash is
 * reproduced (the test then fails with the crash count).
 */
class StopSignalStressTest {
    @TempDir
    Path dir;

    private Path experiment() throws IOException {
        Random r = new Random(3);
        List<String> lines = new ArrayList<>();
        lines.add("sentence\tlabel");
        for (int i = 0; i < 2000; i++) {
            boolean good = r.nextBoolean();
            // long rows: most of a step's time is then spent in libtorch's forward and backward, where the crash happened
            lines.add(((good ? "good great fine " : "bad poor awful ") + "the movie " + i % 11 + " ").repeat(6).strip() + "\t" + (good ? "pos" : "neg"));
        }
        Path train = dir.resolve("train.tsv");
        Files.write(train, lines, StandardCharsets.UTF_8);
        Path conf = dir.resolve("exp.conf");
        Files.writeString(conf, "model { source = \"" + Peft4jCliTest.MINILM + "\", max-length = 64 }\n"
                + "method { name = lora, r = 8, alpha = 16, target-modules = [query, value] }\n"
                + "head { name = sequence-classification, pooling = cls }\n"
                + "data { train { path = \"" + train + "\", format = tsv }, holdout = 0.02 }\n"
                + "train { epochs = 3, max-steps = 24, batch-size = 32, eval-every = 8, log-every = 1 }\n");
        return conf;
    }

    private record Child(int exitCode, String err, List<Path> crashFiles) {}

    private Child run(Path conf, Path runDir, String signal, long delayMillis, boolean handlers) throws Exception {
        Path err = Files.createTempFile(dir, "err", ".txt");
        Path crashDir = Files.createDirectories(dir.resolve("crashes"));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dai.djl.offline=true", "-Dpeft4j.cache=" + Peft4jCliTest.CACHE,
                "-XX:ErrorFile=" + crashDir.resolve("hs_err_pid%p.log"), "-Dpeft4j.stop-signals=" + handlers,
                "-cp", System.getProperty("java.class.path"), Peft4jCli.class.getName(),
                "train", conf.toString(), "run.dir=\"" + runDir + "\""));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(err.toFile()).start();
        if (signal != null) {
            // wait until the training loop runs (a progress line), then signal at a seeded moment within the next steps
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.readString(err).contains("step ") && p.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(delayMillis);
            new ProcessBuilder("kill", "-s", signal, Long.toString(p.pid())).start().waitFor();
        }
        assertThat(p.waitFor(180, TimeUnit.SECONDS)).as("child finished").isTrue();
        List<Path> crashes;
        try (Stream<Path> s = Files.list(crashDir)) {
            crashes = s.toList();
        }
        for (Path c : crashes) {
            Files.move(c, dir.resolve(c.getFileName() + ".seen"));
        }
        return new Child(p.exitValue(), Files.readString(err), crashes);
    }

    @Test
    void signalsDuringTrainingStopCleanlyAndTheResumedRunIsExact() throws Exception {
        int signals = Integer.getInteger("peft4j.stress.signals", 3);
        boolean handlers = !"false".equals(System.getProperty("peft4j.stress.stop-signals"));
        Path conf = experiment();
        Child plain = run(conf, dir.resolve("plain"), null, 0, true);
        assertThat(plain.exitCode()).as(plain.err()).isZero();

        Random random = new Random(16);
        Path runDir = dir.resolve("interrupted");
        int crashes = 0;
        List<String> outcomes = new ArrayList<>();
        for (int i = 0; i < signals; i++) {
            String signal = i % 2 == 0 ? "INT" : "TERM";
            Child child = run(conf, runDir, signal, random.nextInt(1500), handlers);
            outcomes.add("SIG" + signal + " -> exit " + child.exitCode());
            if (!child.crashFiles().isEmpty() || child.exitCode() == 134) {
                crashes++;
                continue;
            }
            if (child.exitCode() == 0) {
                break; // the run finished before the signal: nothing left to interrupt
            }
            if (!handlers) {
                continue; // the JVM's own handling: only crashes are counted
            }
            assertThat(child.exitCode()).as(child.err()).isEqualTo(signal.equals("INT") ? 130 : 143);
            assertThat(child.err()).contains("stopping on SIG" + signal + " after step").contains("run the same command again to resume");
        }
        System.err.println("stop-signal stress: " + signals + " signals, handlers " + (handlers ? "on" : "off") + ", crashes " + crashes + ": " + outcomes);
        assertThat(crashes).as("native crashes in %d signals: %s", signals, outcomes).isZero();

        Child resumed = run(conf, runDir, null, 0, true);
        assertThat(resumed.exitCode()).as(resumed.err()).isZero();
        assertThat(Files.readAllBytes(runDir.resolve("model/trainable.safetensors")))
                .isEqualTo(Files.readAllBytes(dir.resolve("plain/model/trainable.safetensors")));
        assertThat(Files.readString(runDir.resolve("eval.json")).replaceAll("\"train_seconds\": [0-9.]+", ""))
                .isEqualTo(Files.readString(dir.resolve("plain/eval.json")).replaceAll("\"train_seconds\": [0-9.]+", ""));
    }
}
