package dev.peft4j.heads;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.TaskHead;
import java.util.Map;

/**
 * Causal language modelling on a decoder's own {@code lm_head}: the head owns no module (its output is
 * the backbone's {@link ModelOutput#logits()} {@code [batch, seq, vocab]}), so a LoRA run on a decoder
 * trains and saves exactly the adapter, under the decoder's HF names. The loss is next-token
 * cross-entropy ({@link Losses#causalLm}); labels are the input ids with -100 where nothing is trained
 * (padding, prompt tokens), and the shift happens in the loss.
 */
public final class CausalLmHead implements TaskHead {
    private final String modelType;

    CausalLmHead(TransformerModel backbone) {
        if (!backbone.isCausalLm()) {
            throw new Peft4jException("head 'causal-lm' needs a decoder with a language-model head (model_type llama or gpt2); "
                    + backbone.config().source() + " has model_type '" + backbone.config().optional("model_type").orElse("?")
                    + "', which predicts no next token");
        }
        this.modelType = String.valueOf(backbone.config().optional("model_type").orElse("?"));
    }

    @Override
    public Map<String, Module> modules() {
        return Map.of();
    }

    /** The backbone's next-token logits {@code [batch, seq, vocab]}. */
    @Override
    public NDArray forward(ModelOutput backboneOutput, ModelInput input, ForwardContext context) {
        if (backboneOutput.logits() == null) {
            throw new Peft4jException("head 'causal-lm': the '" + modelType + "' backbone returned no logits");
        }
        return backboneOutput.logits();
    }

    /** Mean next-token cross-entropy; labels int64 {@code [batch, seq]} aligned with the input ids, -100 where ignored. */
    @Override
    public NDArray loss(NDArray output, NDArray labels, ForwardContext context) {
        return Losses.causalLm(output, labels, context);
    }

    @Override
    public LabelKind labelKind() {
        return LabelKind.NONE;
    }
}
