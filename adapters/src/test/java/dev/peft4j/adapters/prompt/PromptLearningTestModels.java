package dev.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.models.Engines;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.gpt2.Gpt2Config;
import dev.peft4j.models.gpt2.Gpt2LMHeadModel;
import dev.peft4j.models.llama.LlamaConfig;
import dev.peft4j.models.llama.LlamaForCausalLM;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import ai.djl.Device;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Tiny random BERT, Llama (GQA) and GPT-2 models, a fixed padded batch, and a plugin context. */
final class PromptLearningTestModels {
    static final TensorFiles FILES = new SafetensorsTensorFiles();

    static {
        Engines.pytorch();
    }

    private PromptLearningTestModels() {}

    /** vocab 99, hidden 32, 2 layers, 4 heads, 64 positions. */
    static BertModel bert(NDManager m, long seed) {
        return BertModel.random(BertConfig.of(99, 32, 2, 4, 37, 64), m, seed);
    }

    /** vocab 64, hidden 32, 3 layers, 4 heads, 2 KV heads (GQA), head dim 8. */
    static LlamaForCausalLM llama(NDManager m, long seed) {
        Map<String, Object> values = new LinkedHashMap<>(Map.of("model_type", "llama", "vocab_size", 64, "hidden_size", 32,
                "intermediate_size", 40, "num_hidden_layers", 3, "num_attention_heads", 4, "num_key_value_heads", 2,
                "max_position_embeddings", 64, "tie_word_embeddings", true));
        return LlamaForCausalLM.random(LlamaConfig.fromMap(values), m, seed);
    }

    static Gpt2LMHeadModel gpt2(NDManager m, long seed) {
        return Gpt2LMHeadModel.random(Gpt2Config.fromMap(Map.of("model_type", "gpt2", "vocab_size", 50, "n_positions", 32, "n_embd", 16,
                "n_layer", 2, "n_head", 2)), m, seed);
    }

    /** A right-padded batch of 2 x 7 (ids below 50). */
    static ModelInput batch(NDManager m) {
        NDArray ids = m.create(new long[] {2, 7, 9, 13, 21, 4, 3, 2, 11, 5, 3, 0, 0, 0}, new Shape(2, 7));
        NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, new Shape(2, 7));
        return new ModelInput(ids, mask);
    }

    /**
     * The output the tests compare: logits for decoders, the last hidden state for encoders, at the input's
     * positions (prompt tuning's virtual positions dropped, so shapes compare).
     */
    static NDArray output(TransformerModel model, ForwardContext ctx) {
        ModelInput input = batch(ctx.manager());
        var out = model.forward(input, ctx);
        NDArray result = out.logits() != null ? out.logits() : out.lastHiddenState();
        long virtual = out.virtualPositions(input);
        return virtual == 0 ? result : result.get(new ai.djl.ndarray.index.NDIndex(":, {}:, :", virtual));
    }

    static PluginContext context(TransformerModel model, TextTokenizer tokenizer, long seed) {
        return new PluginContext() {
            @Override
            public Optional<TransformerModel> model() {
                return Optional.ofNullable(model);
            }

            @Override
            public Optional<TextTokenizer> tokenizer() {
                return Optional.ofNullable(tokenizer);
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
                return LoggerFactory.getLogger("prompt-learning-test");
            }

            @Override
            public TensorFiles tensorFiles() {
                return FILES;
            }

            @Override
            public long seed() {
                return seed;
            }
        };
    }
}
