package dev.peft4j.heads;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;

/**
 * One prediction per token (NER, IOB2 tags): dropout and {@code classifier} on every hidden state.
 * Word labels sit on each word's first sub-token; every other position is -100 and ignored by the loss.
 */
public final class TokenClassificationHead extends ClassifierHead {
    TokenClassificationHead(ClassifierModules modules, HeadConfig config) {
        super(modules, config);
    }

    /** Logits {@code [batch, seq, numLabels]}, one per input token (virtual tokens of prompt tuning are dropped). */
    @Override
    public NDArray forward(ModelOutput backboneOutput, ModelInput input, ForwardContext context) {
        NDArray hidden = backboneOutput.lastHiddenState();
        long virtual = backboneOutput.virtualPositions(input);
        if (virtual > 0) {
            hidden = hidden.get(new ai.djl.ndarray.index.NDIndex(":, {}:, :", virtual));
        }
        return module("classifier").forward(module("dropout").forward(hidden, context), context);
    }

    /** Cross-entropy over all positions whose label is not -100; labels int64 {@code [batch, seq]}. */
    @Override
    public NDArray loss(NDArray output, NDArray labels, ForwardContext context) {
        long classes = output.getShape().get(2);
        return Losses.crossEntropy(output.reshape(-1, classes), labels.reshape(-1), context);
    }

    @Override
    public LabelKind labelKind() {
        return LabelKind.TOKEN_CLASS_IDS;
    }
}
