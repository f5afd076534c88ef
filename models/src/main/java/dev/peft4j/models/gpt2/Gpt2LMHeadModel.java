package dev.peft4j.models.gpt2;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.AttentionShape;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.models.generation.CausalLmModel;

/**
 * GPT-2 with HF's {@code GPT2LMHeadModel} tree: {@code transformer} ({@link Gpt2Model}) and
 * {@code lm_head}, tied to {@code transformer.wte.weight} (owning no parameter) unless the config
 * says {@code tie_word_embeddings: false} (see {@link CausalLmModel}).
 */
public final class Gpt2LMHeadModel extends CausalLmModel {
    private final Gpt2Config config;

    /** Builds the tree with zero weights (LayerNorm weights one) in a sub-manager of {@code parent}. */
    public Gpt2LMHeadModel(Gpt2Config config, NDManager parent) {
        this(config, requireNonNull(parent, "parent is null").newSubManager(), true);
    }

    private Gpt2LMHeadModel(Gpt2Config config, NDManager manager, boolean owned) {
        super(manager, "transformer", m -> new Gpt2Model(requireNonNull(config, "config is null"), m),
                config.tieWordEmbeddings() ? "transformer.wte" : null, config.nEmbd(), config.vocabSize());
        this.config = config;
    }

    /** Builds the tree in {@code manager}, which the model takes over: {@link #close()} closes it. */
    public static Gpt2LMHeadModel owning(Gpt2Config config, NDManager manager) {
        return new Gpt2LMHeadModel(config, requireNonNull(manager, "manager is null"), true);
    }

    /** A model with random weights (normal, std 0.02; LayerNorms one and zero) for tests. */
    public static Gpt2LMHeadModel random(Gpt2Config config, NDManager parent, long seed) {
        Gpt2LMHeadModel model = new Gpt2LMHeadModel(config, parent);
        model.randomize(seed, name -> name.contains(".ln_"));
        return model;
    }

    public Gpt2Config gpt2Config() {
        return config;
    }

    @Override
    public ModelConfig config() {
        return config.raw();
    }

    @Override
    public java.util.Optional<String> inputEmbeddingsPath() {
        return java.util.Optional.of("transformer.wte");
    }

    @Override
    public AttentionShape attentionShape() {
        return new AttentionShape(config.nLayer(), config.nHead(), config.nHead(), config.headDim(), config.nEmbd(), config.nPositions());
    }
}
