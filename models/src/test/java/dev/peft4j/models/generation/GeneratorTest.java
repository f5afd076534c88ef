package dev.peft4j.models.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.Models;
import dev.peft4j.models.gpt2.Gpt2LMHeadModel;
import dev.peft4j.models.gpt2.Gpt2Loader;
import dev.peft4j.models.llama.LlamaConfig;
import dev.peft4j.models.llama.LlamaForCausalLM;
import dev.peft4j.models.llama.LlamaLoader;
import dev.peft4j.models.tokenizer.HfTextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    static LlamaForCausalLM tinyLlama(NDManager m) throws Exception {
        Path dir = TestFixtures.resource("tiny-llama");
        return LlamaLoader.load(dir.resolve("model.safetensors"), TestFixtures.config(dir), Device.cpu());
    }

    static Gpt2LMHeadModel tinyGpt2(NDManager m) throws Exception {
        Path dir = TestFixtures.resource("tiny-gpt2");
        return Gpt2Loader.load(dir.resolve("model.safetensors"), TestFixtures.config(dir), Device.cpu());
    }

    static void assertCachedEqualsUncached(TransformerModel model, long[] prompt, int n) {
        Generator generator = new Generator(model);
        GenerationResult cached = generator.generate(prompt, GenerationConfig.greedy(n));
        GenerationResult uncached = generator.generate(prompt, GenerationConfig.greedy(n).withCache(false));
        assertThat(cached.tokens()).hasSize(n).containsExactly(uncached.tokens());
        // sampling: the cache must not change the sampled sequence either; a tiny random model's greedy
        // output can repeat one token, the sampled one does not (so a cache bug cannot hide in it)
        GenerationConfig sampling = GenerationConfig.greedy(n).withSampling(1.0f, 0, 1f, 7);
        long[] sampled = generator.generate(prompt, sampling).tokens();
        assertThat(sampled).containsExactly(generator.generate(prompt, sampling.withCache(false)).tokens());
        assertThat(Arrays.stream(sampled).distinct().count()).isGreaterThan(3);
    }

    /** Logits of the last 3 positions computed step by step through the cache equal the full-sequence logits. */
    static float cachedLogitDiff(TransformerModel model, long[] sequence) {
        int n = sequence.length;
        try (NDManager m = model.manager().newSubManager(); KvCache cache = new KvCache(m)) {
            ForwardContext full = ForwardContext.inference(m);
            NDArray expected = model.forward(new ModelInput(m.create(sequence, new Shape(1, n)), m.ones(new Shape(1, n), DataType.INT64)),
                    full).logits();
            float max = 0;
            ForwardContext ctx = ForwardContext.inference(m).setAttribute(KvCache.KEY, cache);
            long[] prefix = Arrays.copyOf(sequence, n - 3);
            model.forward(new ModelInput(m.create(prefix, new Shape(1, n - 3)), m.ones(new Shape(1, n - 3), DataType.INT64)), ctx);
            for (int i = n - 3; i < n; i++) {
                assertThat(cache.length()).isEqualTo(i);
                NDArray step = model.forward(new ModelInput(m.create(new long[] {sequence[i]}, new Shape(1, 1)),
                        m.ones(new Shape(1, i + 1), DataType.INT64)), ctx).logits();
                float[] a = step.toFloatArray();
                float[] e = expected.get(0, i).toFloatArray();
                for (int k = 0; k < a.length; k++) {
                    max = Math.max(max, Math.abs(a[k] - e[k]));
                }
            }
            return max;
        }
    }

    @Test
    void cachedStepLogitsEqualFullSequenceLogits() throws Exception {
        long[] sequence = {5, 17, 42, 3, 60, 11, 29, 8, 1, 2};
        try (NDManager m = NDManager.newBaseManager(); LlamaForCausalLM llama = tinyLlama(m); Gpt2LMHeadModel gpt2 = tinyGpt2(m)) {
            assertThat(cachedLogitDiff(llama, sequence)).isLessThan(1e-5f);
            assertThat(cachedLogitDiff(gpt2, sequence)).isLessThan(1e-5f);
        }
    }

    @Test
    void modelsLoadPicksDecoderArchitectures() {
        try (TransformerModel llama = Models.load(TestFixtures.resource("tiny-llama"), Device.cpu());
                TransformerModel gpt2 = Models.load(TestFixtures.resource("tiny-gpt2"), Device.cpu())) {
            assertThat(llama).isInstanceOf(LlamaForCausalLM.class);
            assertThat(llama.baseModelPrefix()).isEqualTo("model");
            assertThat(llama.isCausalLm()).isTrue();
            assertThat(gpt2).isInstanceOf(Gpt2LMHeadModel.class);
            assertThat(gpt2.baseModelPrefix()).isEqualTo("transformer");
            assertThat(gpt2.isCausalLm()).isTrue();
        }
    }

    @Test
    void cacheDoesNotChangeLlamaOrGpt2Outputs() throws Exception {
        try (NDManager m = NDManager.newBaseManager(); LlamaForCausalLM llama = tinyLlama(m); Gpt2LMHeadModel gpt2 = tinyGpt2(m)) {
            assertCachedEqualsUncached(llama, new long[] {5, 17, 42}, 24);
            assertCachedEqualsUncached(gpt2, new long[] {5, 17, 42}, 20);
        }
    }

    static void assertBatchEqualsSingle(TransformerModel model) {
        Generator generator = new Generator(model);
        List<long[]> prompts = List.of(new long[] {5, 17, 42, 3, 60}, new long[] {9}, new long[] {7, 33, 2});
        for (boolean cache : new boolean[] {true, false}) {
            GenerationConfig config = GenerationConfig.greedy(12).withCache(cache);
            List<GenerationResult> batch = generator.generate(prompts, config);
            for (int b = 0; b < prompts.size(); b++) {
                assertThat(batch.get(b).tokens()).as("row %d, cache %s", b, cache)
                        .containsExactly(generator.generate(prompts.get(b), config).tokens());
            }
        }
        // A row that stops early keeps its stop token and nothing after it; the others go on.
        long[] row1 = generator.generate(prompts.get(1), GenerationConfig.greedy(12)).tokens();
        List<GenerationResult> stopped = generator.generate(prompts, GenerationConfig.greedy(12).withStopTokenIds(Set.of(row1[1])));
        assertThat(stopped.get(1).finishReason()).isEqualTo(GenerationResult.FinishReason.STOP_TOKEN);
        assertThat(stopped.get(1).tokens().length).isLessThanOrEqualTo(2);
    }

    @Test
    void leftPaddedBatchGeneratesWhatEachPromptGetsAlone() throws Exception {
        try (NDManager m = NDManager.newBaseManager(); LlamaForCausalLM llama = tinyLlama(m); Gpt2LMHeadModel gpt2 = tinyGpt2(m)) {
            assertBatchEqualsSingle(llama);
            // Llama's RoPE is relative, so only GPT-2's absolute positions show a wrong position offset;
            // the random fixture's position table (std 0.02) is scaled up so that positions decide tokens.
            Parameter wpe = gpt2.module().find("transformer.wpe").parameter("weight");
            wpe.setValue(wpe.value().mul(50f));
            assertBatchEqualsSingle(gpt2);
        }
    }

    @Test
    void generationLeavesNoArraysBehind() throws Exception {
        try (NDManager base = NDManager.newBaseManager(); LlamaForCausalLM llama = LlamaForCausalLM.random(
                LlamaConfig.from(TestFixtures.config(TestFixtures.resource("tiny-llama"))), base, 11)) {
            Generator generator = new Generator(llama);
            int before = ((BaseNDManager) base).getManagedArrays().size();
            generator.generate(new long[] {1, 2, 3}, GenerationConfig.greedy(40));
            generator.generate(new long[] {1, 2, 3}, GenerationConfig.greedy(40).withCache(false));
            assertThat(((BaseNDManager) base).getManagedArrays()).hasSize(before);
        }
    }

    @Test
    void stopsAtStopTokenAndContextWindowAndRejectsBadInput() throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Gpt2LMHeadModel gpt2 = tinyGpt2(m)) {
            Generator generator = new Generator(gpt2);
            assertThat(generator.contextWindow()).isEqualTo(32);
            long[] prompt = {5, 17, 42};
            long[] greedy = generator.generate(prompt, GenerationConfig.greedy(10)).tokens();
            GenerationResult stopped = generator.generate(prompt, GenerationConfig.greedy(10).withStopTokenIds(Set.of(greedy[3])));
            int firstStop = 0;
            while (greedy[firstStop] != greedy[3]) {
                firstStop++;
            }
            assertThat(stopped.finishReason()).isEqualTo(GenerationResult.FinishReason.STOP_TOKEN);
            assertThat(stopped.tokens()).containsExactly(Arrays.copyOf(greedy, firstStop + 1));

            GenerationResult full = generator.generate(prompt, GenerationConfig.greedy(100));
            assertThat(full.finishReason()).isEqualTo(GenerationResult.FinishReason.CONTEXT_WINDOW);
            assertThat(full.tokens()).hasSize(32 - 3);

            assertThatThrownBy(() -> generator.generate(new long[32], GenerationConfig.greedy(1)))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("context window is 32");
            assertThatThrownBy(() -> generator.generate(new long[0], GenerationConfig.greedy(1)))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("prompt is empty");
            assertThatThrownBy(() -> GenerationConfig.greedy(0)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("max_new_tokens is 0");
            assertThatThrownBy(() -> GenerationConfig.greedy(5).withSampling(1f, 0, 0f, 1)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("top_p");
        }
    }

    @Test
    void samplingIsSeededAndTopKOneIsGreedy() throws Exception {
        try (NDManager m = NDManager.newBaseManager(); LlamaForCausalLM llama = tinyLlama(m)) {
            Generator generator = new Generator(llama);
            long[] prompt = {3, 9};
            GenerationConfig sampling = GenerationConfig.greedy(30).withSampling(1.5f, 0, 1f, 42);
            long[] a = generator.generate(prompt, sampling).tokens();
            assertThat(generator.generate(prompt, sampling).tokens()).containsExactly(a);
            assertThat(generator.generate(prompt, sampling.withSampling(1.5f, 0, 1f, 43)).tokens()).isNotEqualTo(a);
            long[] greedy = generator.generate(prompt, GenerationConfig.greedy(30)).tokens();
            assertThat(generator.generate(prompt, sampling.withSampling(1.5f, 1, 1f, 42)).tokens()).containsExactly(greedy);
            assertThat(generator.generate(prompt, sampling.withSampling(1.5f, 0, 1e-6f, 42)).tokens()).containsExactly(greedy);
        }
    }

    @Test
    void stories260kGreedyFromBosReproducesGolden() throws Exception {
        String data = java.util.Optional.of(System.getProperty("peft4j.data", "")).filter(p -> !p.isBlank()).map(p -> java.nio.file.Path.of(System.getProperty("peft4j.root", "")).resolve(p).normalize().toString()).orElse("");
        Path dir = data.isEmpty() ? null : Path.of(data, "tinystories-260k");
        Assumptions.assumeTrue(dir != null && Files.isDirectory(dir), "peft4j.data/tinystories-260k not available");
        List<String> golden = Files.readAllLines(dir.resolve("golden_greedy_bos_200.txt"));
        long[] expectedIds = Arrays.stream(golden.get(0).trim().split("\\s+")).mapToLong(Long::parseLong).toArray();
        String expectedText = String.join("\n", golden.subList(1, golden.size()));
        // The product path: Models.load picks the architecture from config.json's model_type.
        try (TransformerModel model = Models.load(dir, Device.cpu());
                HfTextTokenizer tokenizer = HfTextTokenizer.open(dir)) {
            assertThat(model).isInstanceOf(LlamaForCausalLM.class);
            assertThat(model.module().parameterCount()).isEqualTo(260_032L);
            Generator generator = new Generator(model);
            generator.generate(new long[] {1}, GenerationConfig.greedy(20)); // warm-up
            GenerationResult result = generator.generate(new long[] {1}, GenerationConfig.greedy(200));
            System.out.printf("stories260K greedy 200 tokens: %.1f tokens/s (KV cache)%n", result.tokensPerSecond());
            assertThat(result.tokens()).containsExactly(expectedIds);
            assertThat(tokenizer.decode(result.tokens(), true)).isEqualTo(expectedText);
            assertThat(tokenizer.encode("Once upon a time, there was a little girl named Lily.", 512).ids())
                    .startsWith(1L, 403L, 407L, 261L);
        }
    }
}
