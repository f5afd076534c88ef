package dev.peft4j.models.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.AttentionShape;
import dev.peft4j.api.model.ForwardHook;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.model.VirtualTokens;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.Engines;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.gpt2.Gpt2Config;
import dev.peft4j.models.gpt2.Gpt2LMHeadModel;
import dev.peft4j.models.llama.LlamaConfig;
import dev.peft4j.models.llama.LlamaForCausalLM;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The models honour {@link VirtualTokens} as HF models honour PEFT's inputs. Exact equivalences pin it:
 * prompt embeddings equal to real tokens' embeddings give the outputs of those tokens placed first, and a
 * decoder prefix equal to the KV cache of real tokens (Llama: keys after RoPE, used as stored) gives the
 * outputs of the concatenated sequence, at positions shifted by P.
 */
class VirtualTokensTest {
    static {
        Engines.pytorch();
    }

    static LlamaForCausalLM llama(NDManager m) {
        Map<String, Object> values = new LinkedHashMap<>(Map.of("model_type", "llama", "vocab_size", 64, "hidden_size", 32,
                "intermediate_size", 40, "num_hidden_layers", 3, "num_attention_heads", 4, "num_key_value_heads", 2,
                "max_position_embeddings", 64, "tie_word_embeddings", true));
        return LlamaForCausalLM.random(LlamaConfig.fromMap(values), m, 7);
    }

    static Gpt2LMHeadModel gpt2(NDManager m) {
        return Gpt2LMHeadModel.random(Gpt2Config.fromMap(Map.of("model_type", "gpt2", "vocab_size", 50, "n_positions", 32, "n_embd", 16,
                "n_layer", 2, "n_head", 2)), m, 3);
    }

    private static final long[] PREFIX_IDS = {5, 17, 3};
    private static final long[] INPUT_IDS = {9, 4, 22, 8};

    private static ModelInput input(NDManager m, long[] ids) {
        return new ModelInput(m.create(ids, new Shape(1, ids.length)), m.ones(new Shape(1, ids.length), DataType.INT64));
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = new long[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static float maxAbsDiff(NDArray a, NDArray b) {
        assertThat(a.getShape()).isEqualTo(b.getShape());
        return a.sub(b).abs().max().getFloat();
    }

    @Test
    void promptEmbeddingsOfRealTokensEqualThoseTokensFirst() {
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = BertModel.random(BertConfig.of(99, 32, 2, 4, 37, 64), m, 3);
                LlamaForCausalLM llama = llama(m); Gpt2LMHeadModel gpt2 = gpt2(m)) {
            for (TransformerModel model : List.of(bert, llama, gpt2)) {
                ForwardContext plain = ForwardContext.inference(m);
                ModelOutput full = model.forward(input(m, concat(PREFIX_IDS, INPUT_IDS)), plain);
                NDArray words = model.module().find(model.inputEmbeddingsPath().orElseThrow()).parameter("weight").value();
                ForwardHook hook = (in, ctx) -> ctx.setAttribute(VirtualTokens.KEY,
                        VirtualTokens.inputEmbeddings(words.get(ctx.manager().create(PREFIX_IDS)).expandDims(0)));
                model.forwardHooks().add(hook);
                ModelOutput virtual = model.forward(input(m, INPUT_IDS), ForwardContext.inference(m));
                model.forwardHooks().remove(hook);
                NDArray expected = full.logits() != null ? full.logits() : full.lastHiddenState();
                NDArray actual = virtual.logits() != null ? virtual.logits() : virtual.lastHiddenState();
                assertThat(maxAbsDiff(expected, actual)).as(model.config().modelType()).isLessThan(1e-5f);
                assertThat(virtual.attentionMask().getShape()).isEqualTo(new Shape(1, PREFIX_IDS.length + INPUT_IDS.length));
                assertThat(virtual.virtualPositions(input(m, INPUT_IDS))).isEqualTo(PREFIX_IDS.length);
            }
        }
    }

    /** The KV cache of the prefix tokens run alone, as a {@link VirtualTokens} prefix. */
    private static VirtualTokens cachedPrefix(TransformerModel model, NDManager m) {
        try (KvCache cache = new KvCache(m)) {
            ForwardContext ctx = ForwardContext.inference(m).setAttribute(KvCache.KEY, cache);
            model.forward(input(m, PREFIX_IDS), ctx);
            int layers = model.attentionShape().layers();
            List<NDArray> keys = new ArrayList<>();
            List<NDArray> values = new ArrayList<>();
            for (int i = 0; i < layers; i++) {
                NDArray k = cache.keys(i).duplicate();
                NDArray v = cache.values(i).duplicate();
                k.attach(m);
                v.attach(m);
                keys.add(k);
                values.add(v);
            }
            return VirtualTokens.pastKeyValues(keys, values);
        }
    }

    @Test
    void aDecoderPrefixEqualToRealTokensCacheGivesTheConcatenatedOutputsAtShiftedPositions() {
        try (NDManager m = NDManager.newBaseManager(); LlamaForCausalLM llama = llama(m); Gpt2LMHeadModel gpt2 = gpt2(m)) {
            for (TransformerModel model : List.<TransformerModel>of(llama, gpt2)) {
                NDArray full = model.forward(input(m, concat(PREFIX_IDS, INPUT_IDS)), ForwardContext.inference(m)).logits()
                        .get(new NDIndex(":, {}:, :", PREFIX_IDS.length));
                VirtualTokens prefix = cachedPrefix(model, m);
                assertThat(model.attentionShape().kvHeads()).isEqualTo(prefix.pastKeys().get(0).getShape().get(1));
                ForwardHook hook = (in, ctx) -> ctx.setAttribute(VirtualTokens.KEY, prefix);
                model.forwardHooks().add(hook);
                NDArray withPrefix = model.forward(input(m, INPUT_IDS), ForwardContext.inference(m)).logits();
                assertThat(maxAbsDiff(full, withPrefix)).as(model.config().modelType()).isLessThan(1e-5f);

                // KV-cache generation after the prefix: cached greedy ids equal recomputing the whole sequence each step
                long[] cached = new Generator(model).generate(INPUT_IDS, GenerationConfig.greedy(5)).tokens();
                long[] uncached = new Generator(model).generate(INPUT_IDS, GenerationConfig.greedy(5).withCache(false)).tokens();
                assertThat(cached).as(model.config().modelType()).containsExactly(uncached);
                model.forwardHooks().remove(hook);
                // and equal the real tokens' continuation
                long[] real = new Generator(model).generate(concat(PREFIX_IDS, INPUT_IDS), GenerationConfig.greedy(5)).tokens();
                assertThat(cached).as(model.config().modelType()).containsExactly(real);
            }
        }
    }

    @Test
    void modelsSayTheirAttentionShape() {
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = BertModel.random(BertConfig.of(99, 32, 2, 4, 37, 64), m, 3);
                LlamaForCausalLM llama = llama(m); Gpt2LMHeadModel gpt2 = gpt2(m)) {
            assertThat(bert.attentionShape()).isEqualTo(new AttentionShape(2, 4, 4, 8, 32, 64));
            assertThat(llama.attentionShape()).isEqualTo(new AttentionShape(3, 4, 2, 8, 32, 64));
            assertThat(llama.attentionShape().kvDim()).isEqualTo(16);
            assertThat(gpt2.attentionShape()).isEqualTo(new AttentionShape(2, 2, 2, 8, 16, 32));
        }
    }

    @Test
    void bertRejectsVirtualTokensBeyondItsPositions() {
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = BertModel.random(BertConfig.of(99, 32, 2, 4, 37, 8), m, 3)) {
            NDArray words = bert.module().find("embeddings.word_embeddings").parameter("weight").value();
            bert.forwardHooks().add((in, ctx) -> ctx.setAttribute(VirtualTokens.KEY,
                    VirtualTokens.inputEmbeddings(words.get(ctx.manager().create(new long[] {1, 2, 3, 4, 5})).expandDims(0))));
            assertThatThrownBy(() -> bert.forward(input(m, INPUT_IDS), ForwardContext.inference(m)))
                    .hasMessageContaining("5 virtual tokens + sequence length 4 exceed max_position_embeddings 8");
        }
    }
}
