package dev.peft4j.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.TaskHead;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Extractive QA, HF's {@code BertForQuestionAnswering}: {@code qa_outputs}, a Linear from the hidden size to 2, on every
 * hidden state gives start and end logits {@code [batch, seq, 2]}; the loss is the mean of the start and end
 * cross-entropies against the answer's token positions (labels int64 {@code [batch, 2]}). Decoding (n-best, maximum answer
 * length, windows of a long context, character offsets) is the host's, driven by {@link #spanOptions()}.
 */
public final class QuestionAnsweringHead implements TaskHead {
    private final QuestionAnsweringConfig config;
    private final Map<String, Module> modules = new LinkedHashMap<>();
    private Module root;

    QuestionAnsweringHead(TransformerModel backbone, QuestionAnsweringConfig config, long seed) {
        this.config = config;
        int hidden = ClassifierModules.hiddenSize(backbone.config());
        modules.put("dropout", new Dropout(config.dropout()));
        // HF _init_weights: weight ~ N(0, initializer_range) [2, hidden], bias 0
        modules.put("qa_outputs", new Linear(Initializers.normal(backbone.manager(), new Shape(2, hidden), config.initializerRange(), seed),
                Initializers.zeros(backbone.manager(), new Shape(2)), false));
    }

    @Override
    public Map<String, Module> modules() {
        return modules;
    }

    @Override
    public void bind(Module root) {
        this.root = root;
    }

    private Module module(String name) {
        return root != null ? root.child(name) : modules.get(name);
    }

    /** Logits {@code [batch, seq, 2]} (start, end) for every input token; prompt tuning's virtual tokens are dropped. */
    @Override
    public NDArray forward(ModelOutput backboneOutput, ModelInput input, ForwardContext context) {
        NDArray hidden = backboneOutput.lastHiddenState();
        long virtual = backboneOutput.virtualPositions(input);
        if (virtual > 0) {
            hidden = hidden.get(new NDIndex(":, {}:, :", virtual));
        }
        return module("qa_outputs").forward(module("dropout").forward(hidden, context), context);
    }

    /** (CE(start logits, start) + CE(end logits, end)) / 2, HF's {@code total_loss}; labels int64 {@code [batch, 2]}. */
    @Override
    public NDArray loss(NDArray output, NDArray labels, ForwardContext context) {
        NDArray start = output.get(new NDIndex(":, :, 0"));   // [B, T]
        NDArray end = output.get(new NDIndex(":, :, 1"));
        NDArray startLoss = Losses.crossEntropy(start, labels.get(new NDIndex(":, 0")), context);
        NDArray endLoss = Losses.crossEntropy(end, labels.get(new NDIndex(":, 1")), context);
        return startLoss.add(endLoss).mul(context.scalar(0.5f));
    }

    @Override
    public LabelKind labelKind() {
        return LabelKind.SPAN;
    }

    @Override
    public int numLabels() {
        return 2;
    }

    @Override
    public Optional<SpanOptions> spanOptions() {
        return Optional.of(new SpanOptions(config.docStride(), config.maxAnswerLength(), config.nBest(), config.allowNoAnswer()));
    }
}
