package dev.peft4j.adapters.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.Models;
import dev.peft4j.models.generation.GenerationConfig;
import dev.peft4j.models.generation.Generator;
import dev.peft4j.models.safetensors.SafetensorsFile;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Both directions against real HF PEFT, on fixtures made by {@code tools/prompt/make_peft_fixtures.py}:
 * PEFT-written prefix and prompt adapters load here with PEFT's outputs (and greedy ids for decoders), and
 * what peft4j writes from them reads back to the same outputs.
 */
class PeftPromptInteropTest {
    static final float TOLERANCE = 1e-4f;

    static {
        PromptLearningTestModels.FILES.getClass(); // engine
    }

    static Path fixtures() {
        try {
            return Path.of(PeftPromptInteropTest.class.getResource("/prompt-fixtures").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static Map<String, NDArray> load(NDManager m, Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.loadAll(m);
        }
    }

    static ModelInput batch(NDManager m) {
        Map<String, NDArray> b = load(m, fixtures().resolve("batch.safetensors"));
        return new ModelInput(b.get("input_ids"), b.get("attention_mask"));
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        assertThat(a.getShape()).isEqualTo(b.getShape());
        return a.sub(b).abs().max().getFloat();
    }

    /** Loads {@code adapter} onto {@code base}, checks the expected outputs, returns the max abs difference. */
    static float check(String base, String adapter) {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve(base), Device.cpu())) {
            PromptLearningModel loaded = PeftPromptFiles.load(model, model.module(), fixtures().resolve(adapter), PromptLearningTestModels.FILES, 1);
            Map<String, NDArray> expected = load(m, fixtures().resolve(adapter).resolve("expected.safetensors"));
            ModelOutput out = model.forward(batch(m), ForwardContext.inference(m));
            float diff = model.isCausalLm() ? maxAbsDiff(expected.get("logits"), out.logits())
                    : maxAbsDiff(expected.get("last_hidden_state"), out.lastHiddenState());
            if (expected.containsKey("greedy_ids")) {
                long[] prompt = load(m, fixtures().resolve("batch.safetensors")).get("prompt").toLongArray();
                long[] ids = new Generator(model).generate(prompt, GenerationConfig.greedy(6)).tokens();
                assertThat(ids).as(adapter + " greedy ids").containsExactly(expected.get("greedy_ids").toLongArray());
            }
            assertThat(loaded.trainableParameters()).isNotEmpty();
            System.out.printf("%s: max abs diff vs HF PEFT %.3g%n", adapter, diff);
            return diff;
        }
    }

    @Test
    void bertPrefixMatchesPeft() {
        assertThat(check("base-bert", "bert-prefix")).isLessThan(TOLERANCE);
    }

    @Test
    void bertPrefixSavedWithProjectionLoadsAsItsFinalPrefix() {
        assertThat(check("base-bert", "bert-prefix-projection")).isLessThan(TOLERANCE);
    }

    @Test
    void bertPromptMatchesPeft() {
        assertThat(check("base-bert", "bert-prompt")).isLessThan(TOLERANCE);
    }

    @Test
    void llamaGqaPrefixMatchesPeftIncludingGreedyGeneration() {
        assertThat(check("base-llama", "llama-prefix")).isLessThan(TOLERANCE);
    }

    @Test
    void llamaPromptMatchesPeftIncludingGreedyGeneration() {
        assertThat(check("base-llama", "llama-prompt")).isLessThan(TOLERANCE);
    }

    @Test
    void gpt2PrefixMatchesPeftIncludingGreedyGeneration() {
        assertThat(check("base-gpt2", "gpt2-prefix")).isLessThan(TOLERANCE);
    }

    @Test
    void whatPeft4jWritesReadsBackWithTheSameOutputs(@TempDir Path tmp) {
        for (String[] pair : new String[][] {{"base-llama", "llama-prefix"}, {"base-bert", "bert-prompt"}}) {
            try (NDManager m = NDManager.newBaseManager(); TransformerModel a = Models.load(fixtures().resolve(pair[0]), Device.cpu());
                    TransformerModel b = Models.load(fixtures().resolve(pair[0]), Device.cpu())) {
                PromptLearningModel first = PeftPromptFiles.load(a, a.module(), fixtures().resolve(pair[1]), PromptLearningTestModels.FILES, 1);
                Path out = tmp.resolve(pair[1]);
                first.save(out, PromptLearningTestModels.FILES);
                PeftPromptFiles.PeftPromptConfig written = PeftPromptFiles.readConfig(out);
                PeftPromptFiles.PeftPromptConfig original = PeftPromptFiles.readConfig(fixtures().resolve(pair[1]));
                assertThat(written.kind()).isEqualTo(original.kind());
                assertThat(Arrays.asList(written.numVirtualTokens(), written.numLayers(), written.numAttentionHeads(), written.tokenDim()))
                        .isEqualTo(Arrays.asList(original.numVirtualTokens(), original.numLayers(), original.numAttentionHeads(), original.tokenDim()));
                assertThat(load(m, out.resolve(PeftPromptFiles.WEIGHTS_FILE))).containsOnlyKeys(PromptLearningModel.PEFT_KEY);
                PeftPromptFiles.load(b, b.module(), out, PromptLearningTestModels.FILES, 2);
                ModelInput input = batch(m);
                ModelOutput x = a.forward(input, ForwardContext.inference(m));
                ModelOutput y = b.forward(input, ForwardContext.inference(m));
                assertThat(maxAbsDiff(x.lastHiddenState(), y.lastHiddenState())).isEqualTo(0f);
            }
        }
    }

    @Test
    void aPrefixAdapterForAnotherShapeIsRefusedNamingBothAndChangesNothing() {
        try (NDManager m = NDManager.newBaseManager(); TransformerModel bert = Models.load(fixtures().resolve("base-bert"), Device.cpu())) {
            long before = bert.module().parameterCount();
            assertThatThrownBy(() -> PeftPromptFiles.load(bert, bert.module(), fixtures().resolve("llama-prefix"), PromptLearningTestModels.FILES, 1))
                    .hasMessageContaining("the adapter was made for num_layers=2 num_attention_heads=2 token_dim=8")
                    .hasMessageContaining("but this model has num_layers=2 num_attention_heads=2 token_dim=16");
            assertThat(bert.module().hasChild(PromptLearningModel.CONTAINER)).isFalse();
            assertThat(bert.module().parameterCount()).isEqualTo(before);
            assertThat(bert.forwardHooks().isEmpty()).isTrue();
        }
    }

    /**
     * Writes peft4j-made adapters (seeded random init, projection included) with peft4j's outputs for the fixture
     * batch into {@code target/java-prompt-adapters}: {@code tools/prompt/check_java_adapter.py} loads them in HF
     * PEFT and compares. Here: what was written loads back in peft4j with the same outputs.
     */
    @Test
    void writesAdaptersForThePeftCheck() throws Exception {
        Path out = Path.of("target", "java-prompt-adapters").toAbsolutePath();
        String[][] rows = {{"java-bert-prefix", "base-bert", "prefix-tuning", "num-virtual-tokens = 3"},
                {"java-llama-prefix", "base-llama", "prefix-tuning", "num-virtual-tokens = 4, prefix-projection = true, encoder-hidden-size = 12"},
                {"java-llama-prompt", "base-llama", "prompt-tuning", "num-virtual-tokens = 4"},
                {"java-gpt2-prefix", "base-gpt2", "prefix-tuning", "num-virtual-tokens = 2"}};
        for (String[] row : rows) {
            try (NDManager m = NDManager.newBaseManager(); TransformerModel model = Models.load(fixtures().resolve(row[1]), Device.cpu());
                    TransformerModel again = Models.load(fixtures().resolve(row[1]), Device.cpu())) {
                PromptLearningModel adapter = row[2].equals("prefix-tuning")
                        ? new PrefixTuningMethod().apply(model.module(), PrefixTuningConfig.from(PromptLearningTests.section(row[2], row[3])),
                                PromptLearningTestModels.context(model, null, 42))
                        : new PromptTuningMethod().apply(model.module(), PromptTuningConfig.from(PromptLearningTests.section(row[2], row[3])),
                                PromptLearningTestModels.context(model, null, 42));
                Path dir = out.resolve(row[0]);
                adapter.save(dir, PromptLearningTestModels.FILES);
                ModelOutput o = model.forward(batch(m), ForwardContext.inference(m));
                NDArray result = model.isCausalLm() ? o.logits() : o.lastHiddenState();
                PromptLearningTestModels.FILES.write(dir.resolve("expected.safetensors"),
                        Map.of(model.isCausalLm() ? "logits" : "last_hidden_state", result), Map.of());
                java.nio.file.Files.writeString(dir.resolve("base.txt"), row[1] + "\n");
                // peft4j reads its own file back (the projection MLP from peft4j's own keys)
                PromptLearningModel loaded = PeftPromptFiles.load(again, again.module(), dir, PromptLearningTestModels.FILES, 7);
                assertThat(loaded.encoder().parameterCount()).isEqualTo(adapter.encoder().parameterCount());
                ModelOutput p = again.forward(batch(m), ForwardContext.inference(m));
                assertThat(maxAbsDiff(result, again.isCausalLm() ? p.logits() : p.lastHiddenState())).isLessThan(1e-6f);
            }
        }
    }
}
