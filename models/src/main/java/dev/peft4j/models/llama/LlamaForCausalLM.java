package dev.peft4j.models.llama;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.AttentionShape;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.models.generation.CausalLmModel;

/**
 * A Llama causal language model with HF's {@code LlamaForCausalLM} module tree: {@code model}
 * ({@link LlamaModel}) and {@code lm_head}, a {@code [V, D]} linear or, with {@code tie_word_embeddings},
 * tied to {@code model.embed_tokens.weight} (see {@link CausalLmModel}).
 */
public final class LlamaForCausalLM extends CausalLmModel {
    private final LlamaConfig config;

    /** Builds the tree with zero weights (norms one) in a new sub-manager of {@code parent}; load weights afterwards. */
    public LlamaForCausalLM(LlamaConfig config, NDManager parent) {
        this(config, requireNonNull(parent, "parent is null").newSubManager(), true);
    }

    private LlamaForCausalLM(LlamaConfig config, NDManager manager, boolean owned) {
        super(manager, "model", m -> new LlamaModel(requireNonNull(config, "config is null"), m),
                config.tieWordEmbeddings() ? "model.embed_tokens" : null, config.hiddenSize(), config.vocabSize());
        this.config = config;
    }

    /** Builds the tree in {@code manager}, which the model takes over: {@link #close()} closes it. */
    public static LlamaForCausalLM owning(LlamaConfig config, NDManager manager) {
        return new LlamaForCausalLM(config, requireNonNull(manager, "manager is null"), true);
    }

    /**
     * A model with random weights (normal, std 0.02; norms one) for tests. Seeds the engine's
     * random generator, so equal seeds give equal weights.
     */
    public static LlamaForCausalLM random(LlamaConfig config, NDManager parent, long seed) {
        LlamaForCausalLM model = new LlamaForCausalLM(config, parent);
        model.randomize(seed, name -> name.endsWith("norm.weight"));
        return model;
    }

    public LlamaConfig llamaConfig() {
        return config;
    }

    @Override
    public ModelConfig config() {
        return config.raw();
    }

    @Override
    public java.util.Optional<String> inputEmbeddingsPath() {
        return java.util.Optional.of("model.embed_tokens");
    }

    @Override
    public AttentionShape attentionShape() {
        return new AttentionShape(config.numHiddenLayers(), config.numAttentionHeads(), config.numKeyValueHeads(), config.headDim(),
                config.hiddenSize(), config.maxPositionEmbeddings());
    }
}
