package dev.peft4j.api.model;

import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;

/**
 * A loaded pretrained transformer: its config, its module tree and its forward pass. The tree's
 * parameter names are exactly the HuggingFace state-dict names of the model as loaded
 * ({@code encoder.layer.0.attention.self.query.weight} for a BERT {@code AutoModel};
 * {@code model.layers.0.self_attn.q_proj.weight} and {@code lm_head} for a Llama causal LM).
 *
 * <p>The model owns its parameters through {@link #manager()}; closing the model frees them.
 */
public interface TransformerModel extends AutoCloseable {
    ModelConfig config();

    /** The root of the module tree. Adapter methods replace and wrap modules below it. */
    Module module();

    /** Owns the parameters; its device is the model's device. */
    NDManager manager();

    /** The prefix HF task models put before this backbone's names ({@code bert}, {@code model}, {@code transformer}). */
    String baseModelPrefix();

    /** Whether this is a decoder whose {@link ModelOutput#logits()} predict the next token. */
    boolean isCausalLm();

    ModelOutput forward(ModelInput input, ForwardContext context);

    /**
     * The model's attention geometry, which prompt-learning methods size their tensors by.
     *
     * @throws UnsupportedOperationException for a model that does not say (the default)
     */
    default AttentionShape attentionShape() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not expose its attention shape");
    }

    /**
     * Hooks run at the start of every {@link #forward}; a model that returns them honours
     * {@link VirtualTokens} set on the context (the built-in BERT, Llama and GPT-2 do).
     *
     * @throws UnsupportedOperationException for a model that takes no hooks (the default)
     */
    default ForwardHooks forwardHooks() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " takes no forward hooks (virtual tokens)");
    }

    /**
     * The path (under {@link #module()}) of the token embedding whose output the first layer reads, HF's
     * {@code get_input_embeddings()}: {@code embeddings.word_embeddings}, {@code model.embed_tokens},
     * {@code transformer.wte}. Empty when the model does not say (the default).
     */
    default java.util.Optional<String> inputEmbeddingsPath() {
        return java.util.Optional.empty();
    }


    @Override
    void close();
}
