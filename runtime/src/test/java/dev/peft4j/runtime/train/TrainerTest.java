package dev.peft4j.runtime.train;

import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.runtime.Interruption;
import dev.peft4j.runtime.data.TokenizedDataset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    static final String CONFIG = "epochs = 3, batch-size = 8, learning-rate = 1e-2, eval-every = 9, log-every = 2, warmup-steps = 2";
    static final TokenizedDataset TRAIN = TinySetup.dataset(96, 1);
    static final TokenizedDataset EVAL = TinySetup.dataset(40, 2);

    @TempDir
    Path dir;

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }

    private static Map<String, float[]> weights(TaskModel model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.trainableParameters().forEach((k, p) -> out.put(k, p.value().toFloatArray()));
        return out;
    }

    private static void assertSameWeights(Map<String, float[]> a, Map<String, float[]> b) {
        assertThat(a.keySet()).isEqualTo(b.keySet());
        a.forEach((k, v) -> assertThat(b.get(k)).as(k).containsExactly(v));
    }

    @Test
    void learnsTheToyTaskWritesOutputsAndKeepsMemoryFlat() throws Exception {
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            int before = ((BaseNDManager) model.backbone().manager()).getManagedArrays().size();
            Trainer trainer = new Trainer(model, TinySetup.config(CONFIG), TRAIN, EVAL, 0, dir, new SafetensorsTensorFiles(), quiet());
            Trainer.Result result = trainer.train();
            assertThat(result.metrics().get("accuracy")).isGreaterThanOrEqualTo(0.8); // majority class: 0.575
            assertThat(result.totalSteps()).isEqualTo(36);
            // every step's arrays were freed: the model manager holds what it held before
            assertThat(((BaseNDManager) model.backbone().manager()).getManagedArrays().size()).isEqualTo(before);
            assertThat(Files.readString(dir.resolve("eval.json"))).contains("\"accuracy\"").contains("\"best_step\"");
            List<com.google.gson.JsonObject> lines = MetricsLog.read(dir.resolve("metrics.jsonl"));
            assertThat(lines.stream().filter(o -> o.get("type").getAsString().equals("train"))).hasSize(18);
            assertThat(lines.stream().filter(o -> o.get("type").getAsString().equals("eval"))).hasSize(4);
            assertThat(dir.resolve("checkpoints/last/optimizer.safetensors")).exists();
            assertThat(dir.resolve("checkpoints/best/trainable.safetensors")).exists();
            model.backbone().close();
        }
    }

    @Test
    void sameSeedSameWeightsAndResumeMidEpochIsExact() {
        Map<String, float[]> uninterrupted;
        Map<String, Double> uninterruptedMetrics;
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            uninterruptedMetrics = new Trainer(model, TinySetup.config(CONFIG), TRAIN, EVAL, 0, dir.resolve("a"), new SafetensorsTensorFiles(), quiet())
                    .train().metrics();
            uninterrupted = weights(model);
        }
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            new Trainer(model, TinySetup.config(CONFIG), TRAIN, EVAL, 0, dir.resolve("b"), new SafetensorsTensorFiles(), quiet()).train();
            assertSameWeights(uninterrupted, weights(model));
        }
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            // 12 batches per epoch: stop at step 20 (epoch 2, batch 8), after the step-18 checkpoint (epoch 2, batch 6)
            Trainer.Result stopped = new Trainer(model, TinySetup.config(CONFIG), TRAIN, EVAL, 0, dir.resolve("c"), new SafetensorsTensorFiles(), quiet())
                    .train(20);
            assertThat(stopped.interrupted()).isTrue();
            assertThat(stopped.state().step()).isEqualTo(20);
        }
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            Trainer.Result resumed = new Trainer(model, TinySetup.config(CONFIG), TRAIN, EVAL, 0, dir.resolve("c"), new SafetensorsTensorFiles(), quiet())
                    .train();
            assertThat(resumed.metrics()).isEqualTo(uninterruptedMetrics);
            assertSameWeights(uninterrupted, weights(model));
        }
        // the resumed run's log reads like the uninterrupted one (same steps, same losses)
        List<String> a = MetricsLog.read(dir.resolve("a/metrics.jsonl")).stream().map(TrainerTest::withoutTimings).toList();
        List<String> c = MetricsLog.read(dir.resolve("c/metrics.jsonl")).stream().map(TrainerTest::withoutTimings).toList();
        assertThat(c).isEqualTo(a);
    }

    /** A console that asks to stop (as Ctrl-C does through the CLI's signal handler) when the progress line of {@code step} is printed. */
    private static PrintStream stopAt(int step) {
        return new PrintStream(new ByteArrayOutputStream(), true) {
            @Override
            public void println(String line) {
                if (line != null && line.startsWith("step " + step + "/")) {
                    Interruption.request("INT");
                }
                super.println(line);
            }
        };
    }

    @Test
    void aStopRequestEndsTheRunAtTheNextStepWithACheckpointAndResumingIsExact() {
        Map<String, float[]> uninterrupted;
        Map<String, Double> uninterruptedMetrics;
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            uninterruptedMetrics = new Trainer(model, TinySetup.config(CONFIG), TRAIN, EVAL, 0, dir.resolve("a"), new SafetensorsTensorFiles(), quiet())
                    .train().metrics();
            uninterrupted = weights(model);
        }
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            // step 14 is neither an evaluation (every 9) nor an epoch end (12 batches): only the stop writes its checkpoint
            Trainer.Result stopped = new Trainer(model, TinySetup.config(CONFIG), TRAIN, EVAL, 0, dir.resolve("d"), new SafetensorsTensorFiles(),
                    stopAt(14)).train();
            assertThat(stopped.interrupted()).isTrue();
            assertThat(stopped.state().step()).isEqualTo(14);
            assertThat(dir.resolve("d/eval.json")).doesNotExist();
        } finally {
            Interruption.clear();
        }
        Checkpointer checkpoints = new Checkpointer(dir.resolve("d/checkpoints"), new SafetensorsTensorFiles());
        try (NDManager manager = TinySetup.manager()) {
            assertThat(checkpoints.load("last", manager).orElseThrow().state().step()).isEqualTo(14);
        }
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            Trainer.Result resumed = new Trainer(model, TinySetup.config(CONFIG), TRAIN, EVAL, 0, dir.resolve("d"), new SafetensorsTensorFiles(), quiet())
                    .train();
            assertThat(resumed.interrupted()).isFalse();
            assertThat(resumed.metrics()).isEqualTo(uninterruptedMetrics);
            assertSameWeights(uninterrupted, weights(model));
        }
        List<String> a = MetricsLog.read(dir.resolve("a/metrics.jsonl")).stream().map(TrainerTest::withoutTimings).toList();
        List<String> d = MetricsLog.read(dir.resolve("d/metrics.jsonl")).stream().map(TrainerTest::withoutTimings).toList();
        assertThat(d).isEqualTo(a);
    }

    @Test
    void aStopRequestWithGradientAccumulationResumesExactly() {
        String accumulating = CONFIG + ", gradient-accumulation = 3";
        Map<String, float[]> uninterrupted;
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            new Trainer(model, TinySetup.config(accumulating), TRAIN, EVAL, 0, dir.resolve("a"), new SafetensorsTensorFiles(), quiet()).train();
            uninterrupted = weights(model);
        }
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            Trainer trainer = new Trainer(model, TinySetup.config(accumulating), TRAIN, EVAL, 0, dir.resolve("e"), new SafetensorsTensorFiles(),
                    stopAt(4));
            Trainer.Result stopped = trainer.train();
            assertThat(stopped.state().step()).isEqualTo(4);
        } finally {
            Interruption.clear();
        }
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            new Trainer(model, TinySetup.config(accumulating), TRAIN, EVAL, 0, dir.resolve("e"), new SafetensorsTensorFiles(), quiet()).train();
            assertSameWeights(uninterrupted, weights(model));
        }
    }

    private static String withoutTimings(com.google.gson.JsonObject o) {
        com.google.gson.JsonObject copy = o.deepCopy();
        copy.remove("elapsed_s");
        copy.remove("forward_backward_ms");
        copy.remove("optimizer_ms");
        copy.remove("eval_s");
        copy.remove("examples_per_s");
        return copy.toString();
    }

    @Test
    void failedCheckpointWriteLeavesThePreviousOneIntact() throws Exception {
        try (NDManager manager = TinySetup.manager()) {
            Map<String, NDArray> t1 = Map.of("w", manager.create(new float[] {1f, 2f}));
            Map<String, NDArray> t2 = Map.of("w", manager.create(new float[] {3f, 4f}));
            Checkpointer ok = new Checkpointer(dir, new SafetensorsTensorFiles());
            TrainState s1 = new TrainState(5, 0, 5, 0.5, 5, 0, 1.0, 40, 0.7, 1);
            ok.save("last", t1, t1, s1);
            byte[] before = Files.readAllBytes(dir.resolve("last/trainable.safetensors"));
            TensorFiles diskFull = new TensorFiles() {
                final SafetensorsTensorFiles real = new SafetensorsTensorFiles();

                @Override
                public void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
                    if (file.getFileName().toString().startsWith("optimizer")) {
                        try {
                            Files.write(file, new byte[] {1, 2, 3}); // a partial file, then the disk is full
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        throw new java.io.UncheckedIOException(new java.io.IOException("No space left on device"));
                    }
                    real.write(file, tensors, metadata);
                }

                @Override
                public Map<String, NDArray> read(Path file, NDManager m) {
                    return real.read(file, m);
                }

                @Override
                public Map<String, String> metadata(Path file) {
                    return real.metadata(file);
                }
            };
            assertThatThrownBy(() -> new Checkpointer(dir, diskFull).save("last", t2, t2, new TrainState(10, 0, 10, 0.6, 10, 0, 2.0, 80, 0, 0)))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("No space left on device")
                    .hasMessageContaining("previous checkpoint is intact");
            assertThat(Files.readAllBytes(dir.resolve("last/trainable.safetensors"))).isEqualTo(before);
            try (Stream<Path> files = Files.list(dir)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactly("last");
            }
            try (NDManager m = manager.newSubManager()) {
                Checkpointer.Loaded loaded = ok.load("last", m).orElseThrow();
                assertThat(loaded.state()).isEqualTo(s1);
                assertThat(loaded.trainable().get("w").toFloatArray()).containsExactly(1f, 2f);
            }
        }
    }

    @Test
    void nanLossStopsWithTheStepAndAdvice() {
        try (NDManager manager = TinySetup.manager()) {
            TaskModel good = TinySetup.model(manager);
            TaskHead inner = good.head();
            TaskHead poisoned = new TaskHead() {
                @Override
                public Map<String, Module> modules() {
                    return inner.modules();
                }

                @Override
                public NDArray forward(ModelOutput out, ModelInput input, ForwardContext context) {
                    return inner.forward(out, input, context);
                }

                @Override
                public NDArray loss(NDArray output, NDArray labels, ForwardContext context) {
                    return inner.loss(output, labels, context).mul(context.scalar(Float.NaN));
                }
            };
            TaskModel model = new TaskModel(good.backbone(), poisoned);
            assertThatThrownBy(() -> new Trainer(model, TinySetup.config(CONFIG), TRAIN, EVAL, 0, dir, new SafetensorsTensorFiles(), quiet()).train())
                    .isInstanceOf(NanLossException.class).hasMessageContaining("the loss is NaN at optimizer step 1 (epoch 1")
                    .hasMessageContaining("learning-rate");
        }
    }

    @Test
    void gradientAccumulationHalvesTheUpdatesAndBadConfigIsReported() {
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            Trainer.Result r = new Trainer(model, TinySetup.config("epochs = 1, batch-size = 8, gradient-accumulation = 2, checkpoints = false"),
                    TRAIN, EVAL, 0, dir, new SafetensorsTensorFiles(), quiet()).train();
            assertThat(r.totalSteps()).isEqualTo(6);
            assertThat(r.state().step()).isEqualTo(6);
        }
        assertThatThrownBy(() -> TinySetup.config("schedule = cosin, learning-rate = -1, epocs = 2"))
                .hasMessageContaining("train.schedule").hasMessageContaining("train.learning-rate").hasMessageContaining("train.epocs");
    }
}
