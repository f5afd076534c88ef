package dev.peft4j.runtime.device;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.models.Engines;
import dev.peft4j.models.Models;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunResult;
import dev.peft4j.runtime.config.ExperimentConfig;
import dev.peft4j.runtime.config.ExperimentValidator;
import dev.peft4j.runtime.data.FakeTokenizer;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.runtime.train.Evaluation;
import dev.peft4j.runtime.train.Evaluator;
import dev.peft4j.runtime.train.TaskSetup;
import dev.peft4j.runtime.train.TrainingRunner;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Everything a training run creates (batches, masks, position ids, RoPE tables, dropout masks, virtual
 * tokens, loss targets, optimizer state, teacher outputs, checkpoints read back) is on the model's
 * device. Each run goes through the normal host (config, plugins, trainer, best-checkpoint restore) under
 * {@link DeviceAudit}, with the model on {@code cpu:0} here, or on {@code -Dpeft4j.test.device} (gpu:0 on
 * a GPU machine: tools/gpu-check.sh).
 */
class DevicePlacementTest {
    /**
     * cpu:0 is the CPU under a name that differs from both the default device and Device.cpu(). DJL's
     * {@code Device.of("cpu", n)} always answers {@code Device.cpu()}, so it is made with the private
     * constructor; torch accepts cpu:0 as the CPU.
     */
    static final Device DEVICE = deviceUnderTest();
    static final Path FIXTURES = Path.of("../models/src/test/resources");
    static final FakeTokenizer TOKENIZER = new FakeTokenizer(64);

    @TempDir
    static Path dir;

    static Path train;
    static Path eval;

    static Device deviceUnderTest() {
        String setting = System.getProperty("peft4j.test.device", "");
        if (!setting.isBlank()) {
            return Engines.device(setting);
        }
        try {
            var constructor = Device.class.getDeclaredConstructor(String.class, int.class);
            constructor.setAccessible(true);
            Device cpu0 = constructor.newInstance(Device.Type.CPU, 0);
            if (DeviceAudit.sameName(cpu0, Device.cpu()) || DeviceAudit.sameName(cpu0, Engine.getInstance().defaultDevice())) {
                throw new IllegalStateException("cpu:0 is not a distinct device name here: the audit needs another decoy device");
            }
            return cpu0;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot make the cpu:0 device: " + e, e);
        }
    }

    /** Loads the tiny random BERT ("tiny") or an HF fixture directory onto {@link #DEVICE}. */
    static final class DeviceLoader implements ModelLoader {
        @Override
        public LoadedModel load(dev.peft4j.runtime.config.ModelSettings settings) {
            if (settings.source().equals("tiny")) {
                BertModel bert = BertModel.random(BertConfig.of(64, 16, 1, 2, 32, 64), NDManager.newBaseManager(DEVICE), 7, false);
                return new LoadedModel(bert, Optional.of(TOKENIZER));
            }
            return new LoadedModel(Models.load(FIXTURES.resolve(settings.source()), DEVICE), Optional.of(TOKENIZER));
        }
    }

    static Peft4j host() {
        return Peft4j.builder().override(binder -> binder.bind(ModelLoader.class).toInstance(new DeviceLoader())).build();
    }

    @BeforeAll
    static void data() throws Exception {
        Engines.pytorch();
        List<String> good = List.of("good", "great", "fine", "nice");
        List<String> bad = List.of("bad", "awful", "poor", "sad");
        List<String> filler = List.of("the", "a", "movie", "was", "plot", "it", "very", "and");
        for (String split : List.of("train", "eval")) {
            Random r = new Random(split.length());
            List<String> lines = new ArrayList<>(List.of("sentence\tlabel"));
            for (int i = 0; i < 32; i++) {
                int label = r.nextInt(2);
                List<String> words = new ArrayList<>();
                for (int w = 0; w < 3 + r.nextInt(5); w++) {
                    words.add(filler.get(r.nextInt(filler.size())));
                }
                words.add(r.nextInt(words.size() + 1), (label == 1 ? good : bad).get(r.nextInt(4)));
                lines.add(String.join(" ", words) + "\t" + (label == 1 ? "pos" : "neg"));
            }
            Path p = dir.resolve(split + ".tsv");
            Files.write(p, lines, StandardCharsets.UTF_8);
            if (split.equals("train")) {
                train = p;
            } else {
                eval = p;
            }
        }
    }

    static String classification(String name, String method, String extra) {
        return "model.source = tiny\n" + method + "\n"
                + "head { name = sequence-classification, pooling = mean, dropout = 0.1 }\n"
                + "data { train { path = \"" + train + "\", format = tsv }, eval { path = \"" + eval + "\", format = tsv } }\n"
                + "train { epochs = 1, batch-size = 8, learning-rate = 1e-2, log-every = 2, eval-every = 2 }\n"
                + "run { name = " + name + ", dir = \"" + dir.resolve(name) + "\" }\n" + extra;
    }

    static RunResult audited(Peft4j peft4j, String config) throws Exception {
        AtomicReference<RunResult> result = new AtomicReference<>();
        DeviceAudit audit = DeviceAudit.run(DEVICE, () -> result.set(peft4j.experiment(ConfigFactory.parseString(config)).run()));
        assertClean(audit);
        return result.get();
    }

    static void assertClean(DeviceAudit audit) {
        System.out.println("device audit: " + audit.arrays() + " arrays, by manager / tensor device " + audit.arraysByDevice());
        assertThat(audit.arrays()).as("arrays created").isGreaterThan(100);
        assertThat(audit.misplaced()).as("arrays off %s (by device: %s)", DEVICE, audit.arraysByDevice()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "method { name = lora, r = 4, alpha = 8, target-modules = all-linear, dropout = 0.1 }",
        "method { name = lora, r = 4, alpha = 8, target-modules = [query, value], use-dora = true }",
        "method { name = prefix-tuning, num-virtual-tokens = 4, prefix-projection = true }",
        "method { name = prompt-tuning, num-virtual-tokens = 4 }",
        "method { name = ia3 }",
        "method { name = bottleneck }",
        "method { name = full }"})
    void aTrainingRunCreatesEveryArrayOnTheModelsDevice(String method) throws Exception {
        String name = method.replaceAll("[^a-z0-9]+", "-");
        try (Peft4j peft4j = host()) {
            RunResult result = audited(peft4j, classification(name, method, ""));
            assertThat(result.metrics()).containsKey("accuracy");
        }
    }

    @Test
    void distillationFromATeacherRunStaysOnTheDevice() throws Exception {
        try (Peft4j peft4j = host()) {
            RunResult teacher = audited(peft4j, classification("teacher", "method { name = lora, r = 4, target-modules = all-linear }", ""));
            audited(peft4j, classification("student", "method { name = lora, r = 2, target-modules = [query, value] }",
                    "teacher.run = \"" + teacher.runDirectory() + "\"\n"
                    + "objectives = [{ name = soft-target-kl, temperature = 2, alpha = 0.5 },"
                    + " { name = hidden-state, projection = always, weight = 0.1 }]\n"));
            // the cached-logits path reads the teacher's logits back from a file
            audited(peft4j, classification("student-cached", "method { name = lora, r = 2, target-modules = [query, value] }",
                    "teacher { run = \"" + teacher.runDirectory() + "\", cache = true }\n"
                    + "objectives = [{ name = soft-target-kl, temperature = 2, alpha = 0.5 }]\n"));
        }
    }

    @Test
    void aDecoderRunWithRotaryEmbeddingsAndCausalMasksStaysOnTheDevice() throws Exception {
        Path text = dir.resolve("corpus.txt");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            lines.add("the cat sees " + (i % 3 == 0 ? "the ball" : "a tree") + " and goes home");
        }
        Files.write(text, lines, StandardCharsets.UTF_8);
        for (String method : List.of("method { name = lora, r = 4, target-modules = [q_proj, v_proj] }",
                "method { name = prefix-tuning, num-virtual-tokens = 4 }")) {
            try (Peft4j peft4j = host()) {
                audited(peft4j, "model { source = tiny-llama, max-length = 16 }\n" + method + "\n"
                        + "head { name = causal-lm }\n"
                        + "data { train { path = \"" + text + "\", format = text }, eval { path = \"" + text + "\", format = text } }\n"
                        + "train { epochs = 1, batch-size = 8, learning-rate = 1e-2, log-every = 2 }\n"
                        + "run { name = llama, dir = \"" + dir.resolve("llama-" + method.hashCode()) + "\" }\n");
            }
        }
    }

    /** peft4j eval / predict: the run's config, base model, trained tensors and labels, read onto the device. */
    @Test
    void aCheckpointIsReadOntoTheModelsDevice() throws Exception {
        try (Peft4j peft4j = host()) {
            RunResult run = peft4j.experiment(ConfigFactory.parseString(
                    classification("saved", "method { name = lora, r = 4, target-modules = all-linear }", ""))).run();
            var injector = peft4j.injector();
            var experiment = injector.getInstance(ExperimentValidator.class)
                    .validate(ExperimentConfig.load(run.runDirectory().resolve("resolved.conf"), List.of()));
            AtomicReference<Double> accuracy = new AtomicReference<>();
            DeviceAudit audit = DeviceAudit.run(DEVICE, () -> {
                try (TaskSetup setup = TrainingRunner.restore(experiment, injector.getInstance(ModelLoader.class),
                        injector.getInstance(PluginContexts.class), injector.getInstance(TensorFiles.class), run.runDirectory(), true)) {
                    Evaluation e = Evaluator.evaluate(setup.taskModel(), setup.eval().orElseThrow(), 8, setup.padId());
                    accuracy.set(e.metrics().get("accuracy"));
                }
            });
            assertClean(audit);
            // the restored model is the trained one
            assertThat(accuracy.get()).isEqualTo(run.metrics().get("accuracy"));
        }
    }

    /** The audit itself: an array made on the default device's manager or on Device.cpu() is reported, with its source line. */
    @Test
    void theAuditReportsAnArrayMadeOffTheModelsDevice() throws Exception {
        Device elsewhere = DeviceAudit.sameName(DEVICE, Engine.getInstance().defaultDevice()) ? Device.cpu() : Engine.getInstance().defaultDevice();
        DeviceAudit audit = DeviceAudit.run(DEVICE, () -> {
            try (NDManager onModel = NDManager.newBaseManager(DEVICE); NDManager stray = NDManager.newBaseManager(elsewhere)) {
                onModel.ones(new Shape(2, 3)).add(onModel.ones(new Shape(2, 3)));
                stray.zeros(new Shape(4));
            }
        });
        assertThat(audit.arrays()).isEqualTo(4);
        assertThat(audit.misplaced()).singleElement().satisfies(p -> {
            assertThat(DeviceAudit.sameName(p.managerDevice(), elsewhere)).isTrue();
            assertThat(p.shape()).isEqualTo("(4)");
            assertThat(p.createdAt()).startsWith(DevicePlacementTest.class.getName() + ".lambda");
        });
    }
}
