package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.adapters.FullFineTuningMethod;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Full fine-tuning with parameter groups through the trainer, on a 3-layer tiny BERT: 6 batches per epoch, 2 epochs =
 * 12 updates, a checkpoint every 2. {@code freeze-layers = 1}: the embeddings and layer 0 never train; {@code unfreeze-every = 3}:
 * layer 2 (with the pooler and head) trains from update 0, layer 1 joins at update 3; {@code layer-lr-decay = 0.5}: layer 1
 * at half the rate; the classifier at twice it.
 */
class ScheduledFullFineTuningTest {
    static final String TRAIN = "epochs = 2, batch-size = 8, learning-rate = 1e-2, eval-every = 2, log-every = 2, warmup-steps = 2";
    static final String METHOD = "freeze-layers = 1, layer-lr-decay = 0.5, unfreeze-every = 3, learning-rate-scale { classifier = 2 }";

    @TempDir
    Path dir;

    private static TaskModel model(NDManager manager, String method) {
        BertModel backbone = BertModel.random(BertConfig.of(64, 16, 3, 2, 32, 64), manager, 7, false);
        TaskModel model = new TaskModel(backbone, TinySetup.head(backbone, "sequence-classification", "num-labels = 2, pooling = mean"));
        FullFineTuningMethod full = new FullFineTuningMethod();
        var section = ConfigFactory.parseString(method).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.methods.full"));
        Adaptation adaptation = full.apply(model.root(), full.parseConfig(section), context(backbone));
        model.setParameterSchedule(adaptation.parameterSchedule());
        return model;
    }

    private Trainer trainer(TaskModel model, String run, PrintStream console) {
        return new Trainer(model, TinySetup.config(TRAIN), TinySetup.dataset(48, 1), TinySetup.dataset(16, 2), 0, dir.resolve(run),
                new SafetensorsTensorFiles(), console);
    }

    private static PrintStream quiet() {
        return new PrintStream(new ByteArrayOutputStream());
    }

    private static Map<String, float[]> all(TaskModel model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        model.root().namedParameters().forEach((k, p) -> out.put(k, p.value().toFloatArray()));
        return out;
    }

    private static void assertSame(Map<String, float[]> a, Map<String, float[]> b, String prefix) {
        a.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                assertThat(b.get(k)).as(k).containsExactly(v);
            }
        });
    }

    private static void assertChanged(Map<String, float[]> a, Map<String, float[]> b, String prefix) {
        a.forEach((k, v) -> {
            if (k.startsWith(prefix) && k.endsWith(".weight")) {
                assertThat(b.get(k)).as(k).isNotEqualTo(v);
            }
        });
    }

    @Test
    void frozenLayersStayBitIdenticalALayerJoinsAtItsStageAndTheScheduleIsCheckpointed() throws Exception {
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = model(manager, METHOD);
            Map<String, float[]> initial = all(model);
            int trainable = model.trainableParameters().size();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Trainer.Result early = trainer(model, "a", new PrintStream(out, true, StandardCharsets.UTF_8)).train(3);
            assertThat(early.state().step()).isEqualTo(3);
            Map<String, float[]> at4 = all(model);
            assertSame(initial, at4, "bert.embeddings.");
            assertSame(initial, at4, "bert.encoder.layer.0.");
            assertSame(initial, at4, "bert.encoder.layer.1."); // its stage starts at update 3 (the 4th)
            assertChanged(initial, at4, "bert.encoder.layer.2.");
            assertChanged(initial, at4, "classifier.");
            // after train returns, every scheduled parameter is trainable again (what the run saves)
            assertThat(model.trainableParameters()).hasSize(trainable);
            String console = out.toString(StandardCharsets.UTF_8);
            assertThat(console).containsPattern("layer 1 +lr 0\\.005 \\(x 0\\.5\\) +from update 3 ");
            assertThat(console).containsPattern("layer 2 +lr 0\\.01 \\(x 1\\) +from update 0 ");
            assertThat(console).containsPattern("top \\[classifier\\] +lr 0\\.02 \\(x 2\\) +from update 0 +34 params");
        }
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = model(manager, METHOD);
            Map<String, float[]> initial = all(model);
            trainer(model, "b", quiet()).train();
            Map<String, float[]> end = all(model);
            assertSame(initial, end, "bert.embeddings.");
            assertSame(initial, end, "bert.encoder.layer.0.");
            assertChanged(initial, end, "bert.encoder.layer.1.");
            // the last checkpoint (update 12) holds the schedule and each parameter's own step count
            JsonObject schedule = JsonParser.parseString(Files.readString(dir.resolve("b/checkpoints/last/schedule.json"))).getAsJsonObject()
                    .getAsJsonObject("parameters");
            JsonObject query1 = schedule.getAsJsonObject("bert.encoder.layer.1.attention.self.query.weight");
            assertThat(query1.get("start_step").getAsLong()).isEqualTo(3);
            assertThat(query1.get("learning_rate_scale").getAsDouble()).isEqualTo(0.5);
            assertThat(schedule.has("bert.encoder.layer.0.attention.self.query.weight")).isFalse();
            Map<String, NDArray> optimizer = new SafetensorsTensorFiles().read(dir.resolve("b/checkpoints/last/optimizer.safetensors"), manager);
            assertThat(optimizer.get("bert.encoder.layer.1.attention.self.query.weight.step").toLongArray()).containsExactly(9L);
            assertThat(optimizer.get("bert.encoder.layer.2.attention.self.query.weight.step").toLongArray()).containsExactly(12L);
        }
    }

    /** Resumes from a checkpoint before the boundary (update 2) and from one after it (update 4): both end byte-identical. */
    @Test
    void resumeIsExactAcrossTheUnfreezingBoundary() {
        Map<String, float[]> uninterrupted;
        Map<String, Double> metrics;
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = model(manager, METHOD);
            metrics = trainer(model, "a", quiet()).train().metrics();
            uninterrupted = all(model);
        }
        for (int[] run : new int[][] {{3, 2}, {5, 4}}) {
            String name = "stop" + run[0];
            try (NDManager manager = TinySetup.manager()) {
                Trainer.Result stopped = trainer(model(manager, METHOD), name, quiet()).train(run[0]);
                assertThat(stopped.state().step()).isEqualTo(run[0]);
            }
            try (NDManager manager = TinySetup.manager()) {
                TaskModel model = model(manager, METHOD);
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                Trainer.Result resumed = trainer(model, name, new PrintStream(out, true, StandardCharsets.UTF_8)).train();
                assertThat(out.toString(StandardCharsets.UTF_8)).contains("resuming from").contains("at step " + run[1] + " of 12");
                assertThat(resumed.metrics()).isEqualTo(metrics);
                Map<String, float[]> end = all(model);
                assertThat(end.keySet()).isEqualTo(uninterrupted.keySet());
                assertSame(uninterrupted, end, "");
            }
        }
        // resuming under another schedule would mix two runs
        try (NDManager manager = TinySetup.manager()) {
            assertThatThrownBy(() -> trainer(model(manager, METHOD.replace("0.5", "0.25")), "stop3", quiet()).train())
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("was written with another parameter schedule (schedule.json)");
        }
    }

    @Test
    void anUnfreezeScheduleLongerThanTheRunIsRefusedBeforeTheFirstStep() {
        try (NDManager manager = TinySetup.manager()) {
            // freeze-layers = 0: layers 2, 1, 0 in stages 0, 1, 2; 6 updates per stage put stage 2 at update 12 of 12
            TaskModel model = model(manager, "freeze-layers = 0, unfreeze-every = 6");
            Map<String, float[]> initial = all(model);
            assertThatThrownBy(() -> trainer(model, "long", quiet()).train()).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("method.unfreeze-every = 6 (method.unfreeze-unit = steps) is longer than the run: 3 unfreezing stages,"
                            + " the last (layer 0) would start at update 12, but the run has only 12 updates")
                    .hasMessageContaining("use at most 5 steps per stage");
            assertSame(initial, all(model), "");
            TaskModel byEpoch = model(manager, "freeze-layers = 0, unfreeze-every = 1, unfreeze-unit = epochs");
            assertThatThrownBy(() -> trainer(byEpoch, "long2", quiet()).train()).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("method.unfreeze-every = 1 (method.unfreeze-unit = epochs) is longer than the run")
                    .hasMessageContaining("would start at update 12");
        }
    }

    private static PluginContext context(TransformerModel model) {
        return new PluginContext() {
            @Override
            public Optional<TransformerModel> model() {
                return Optional.of(model);
            }

            @Override
            public Optional<TextTokenizer> tokenizer() {
                return Optional.empty();
            }

            @Override
            public Device device() {
                return Device.cpu();
            }

            @Override
            public Optional<Path> runDirectory() {
                return Optional.empty();
            }

            @Override
            public Logger logger() {
                return LoggerFactory.getLogger("test");
            }

            @Override
            public TensorFiles tensorFiles() {
                return new SafetensorsTensorFiles();
            }

            @Override
            public long seed() {
                return 42;
            }
        };
    }

}
