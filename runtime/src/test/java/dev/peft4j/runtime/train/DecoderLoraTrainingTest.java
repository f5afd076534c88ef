package dev.peft4j.runtime.train;

import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.lora.LoraModel;
import dev.peft4j.models.Models;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunResult;
import dev.peft4j.runtime.data.FakeTokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * LoRA on decoders through the normal experiment path (config, host, trainer): the HF-written tiny Llama
 * (q_proj, v_proj) and tiny GPT-2 (c_attn, Conv1D, fan_in_fan_out) learn a toy corpus, lower held-out
 * perplexity, save the adapter in PEFT's layout, and the reloaded adapter merges to the same logits.
 */
class DecoderLoraTrainingTest {
    /** The HF-written fixtures of the models module (tests run in the module directory). */
    static final Path FIXTURES = Path.of("../models/src/test/resources");

    @TempDir
    Path dir;

    /** Loads the fixture directory named by model.source, with a test tokenizer (the fixtures have none). */
    static final class FixtureLoader implements ModelLoader {
        @Override
        public LoadedModel load(dev.peft4j.runtime.config.ModelSettings settings) {
            return new LoadedModel(Models.load(FIXTURES.resolve(settings.source()), "cpu"), Optional.of(new FakeTokenizer(64)));
        }
    }

    /** A toy language: subject verb object with a fixed continuation, so the next word is mostly predictable. */
    static List<String> corpus(int n, long seed) {
        List<String> subjects = List.of("the cat", "a dog", "the bird", "my friend");
        List<String> verbs = List.of("sees", "likes", "finds");
        List<String> objects = List.of("the ball", "a tree", "the house");
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int s = r.nextInt(subjects.size());
            out.add(subjects.get(s) + " " + verbs.get(s % verbs.size()) + " " + objects.get(r.nextInt(objects.size())) + " and goes home");
        }
        return out;
    }

    private String experiment(String model, String targets, Path train, Path eval, String extra) {
        return "model { source = " + model + ", max-length = 32 }\n"
                + "method { name = lora, r = 8, alpha = 16, target-modules = " + targets + " }\n"
                + "head { name = causal-lm }\n"
                + "data { train { path = \"" + train + "\", format = text }, eval { path = \"" + eval + "\", format = text } }\n"
                + "train { epochs = 3, batch-size = 16, learning-rate = 2e-2, log-every = 5, warmup-ratio = 0.1, eval-at-start = true }\n"
                + "run { name = " + model + ", dir = \"" + dir.resolve("run-" + model) + "\" }\n" + extra;
    }

    private static Peft4j host() {
        return Peft4j.builder().override(binder -> binder.bind(ModelLoader.class).toInstance(new FixtureLoader())).build();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "tiny-llama | [q_proj, v_proj] | model.layers.0.self_attn.q_proj | false | 2e-2 | 0.3",
        "tiny-gpt2  | [c_attn]         | transformer.h.0.attn.c_attn     | true  | 2e-2 | 0.9"})
    void loraTrainsSavesInPeftFormatAndMerges(String model, String targets, String firstTarget, boolean fanInFanOut, String learningRate,
            double maxRatio) throws Exception {
        Path train = dir.resolve("train.txt");
        Path eval = dir.resolve("dev.txt");
        Files.write(train, corpus(128, 1), StandardCharsets.UTF_8);
        Files.write(eval, corpus(48, 2), StandardCharsets.UTF_8);
        RunResult result;
        try (Peft4j peft4j = host()) {
            result = peft4j.experiment(ConfigFactory.parseString(experiment(model, targets, train, eval, "train.learning-rate = " + learningRate))).run();
        }
        double before = result.metrics().get("initial_perplexity");
        double after = result.metrics().get("perplexity");
        // a random 64-token model starts near uniform (measured: llama 82, gpt2 65); the toy language is mostly
        // predictable. Measured after 24 steps: llama 82 -> 19; gpt2 65 -> 52. GPT-2's fixture cannot go far: its tied
        // std-0.02 embeddings after ln_f bound every logit to about +-0.6, so a near-uniform floor is structural.
        assertThat(before).isGreaterThan(40);
        assertThat(after).isLessThan(maxRatio * before);
        assertThat(result.metrics().get("loss")).isEqualTo(Math.log(after), org.assertj.core.api.Assertions.within(1e-9));
        // eval-at-start is logged as step 0
        assertThat(MetricsLog.read(result.runDirectory().resolve("metrics.jsonl")).get(0).get("step").getAsLong()).isZero();

        // PEFT layout: base_model.model.<HF path>.lora_{A,B}.weight for 2 layers x targets, nothing else
        Path adapter = result.runDirectory().resolve("adapter");
        JsonObject config = JsonParser.parseString(Files.readString(adapter.resolve("adapter_config.json"))).getAsJsonObject();
        assertThat(config.get("fan_in_fan_out").getAsBoolean()).isEqualTo(fanInFanOut);
        assertThat(config.get("peft_type").getAsString()).isEqualTo("LORA");
        TensorFiles files = new SafetensorsTensorFiles();
        try (NDManager m = NDManager.newBaseManager()) {
            Set<String> keys = files.read(adapter.resolve("adapter_model.safetensors"), m).keySet();
            int perLayer = targets.split(",").length;
            assertThat(keys).hasSize(2 * perLayer * 2).contains("base_model.model." + firstTarget + ".lora_A.weight",
                    "base_model.model." + firstTarget + ".lora_B.weight");
        }

        // reloaded onto a fresh model, the adapter changes the logits, and merging keeps them
        try (TransformerModel base = Models.load(FIXTURES.resolve(model), "cpu"); NDManager m = base.manager().newSubManager()) {
            ModelInput in = new ModelInput(m.create(new long[] {1, 7, 9, 30, 41, 12, 5, 2}, new Shape(2, 4)), m.ones(new Shape(2, 4), DataType.INT64));
            float[] plain = base.forward(in, ForwardContext.inference(m)).logits().toFloatArray();
            LoraModel lora = LoraModel.fromPretrained(base.module(), model.equals("tiny-llama") ? "llama" : "gpt2", adapter, files, "default");
            float[] adapted = base.forward(in, ForwardContext.inference(m)).logits().toFloatArray();
            lora.merge();
            float[] merged = base.forward(in, ForwardContext.inference(m)).logits().toFloatArray();
            assertThat(maxAbsDiff(plain, adapted)).isGreaterThan(1e-2);
            assertThat(maxAbsDiff(adapted, merged)).isLessThan(1e-4f);
        }
    }

    @Test
    void anEncoderWithTheCausalLmHeadIsAClearError() throws Exception {
        Path train = dir.resolve("train.txt");
        Files.write(train, corpus(8, 1), StandardCharsets.UTF_8);
        try (Peft4j peft4j = Peft4j.builder().override(binder -> binder.bind(ModelLoader.class)
                .toInstance(new TrainingRunnerTest.TinyLoader())).build()) {
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment("tiny", "[query, value]", train, train, ""))).run())
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("causal-lm").hasMessageContaining("'bert'");
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    @Test
    void aClassifierOnADecoderUsesTheLastTokenAndHfNames() throws Exception {
        Path train = dir.resolve("train.tsv");
        List<String> lines = new ArrayList<>(List.of("sentence\tlabel"));
        TinySetup.examples(64, 1).forEach(e -> lines.add(e.fields().get("text") + "\t" + e.fields().get("label")));
        Files.write(train, lines, StandardCharsets.UTF_8);
        String config = "model { source = tiny-llama, max-length = 32 }\n"
                + "method { name = lora, r = 4, alpha = 8, target-modules = [q_proj, v_proj] }\n"
                + "head { name = sequence-classification, pooling = last }\n"
                + "data { train { path = \"" + train + "\", format = tsv }, holdout = 0.25 }\n"
                + "train { epochs = 1, batch-size = 16, checkpoints = false }\n"
                + "run { name = cls, dir = \"" + dir.resolve("run-cls") + "\" }\n";
        RunResult result;
        try (Peft4j peft4j = host()) {
            result = peft4j.experiment(ConfigFactory.parseString(config)).run();
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(config), "head.pooling = cls").run())
                    .hasMessageContaining("pooling = last");
        }
        assertThat(result.metrics()).containsKey("accuracy");
        try (NDManager m = NDManager.newBaseManager()) {
            Set<String> keys = new SafetensorsTensorFiles().read(result.runDirectory().resolve(TrainingRunner.TRAINED_FILE), m).keySet();
            // the decoder's own names beside the head's, as HF's LlamaForSequenceClassification (no model.model.)
            assertThat(keys).contains("classifier.weight", "classifier.bias").anyMatch(k -> k.startsWith("model.layers.0.self_attn.q_proj.lora_A"))
                    .noneMatch(k -> k.startsWith("model.model."));
        }
    }
}
