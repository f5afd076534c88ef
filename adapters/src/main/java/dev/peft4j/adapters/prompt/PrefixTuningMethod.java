package dev.peft4j.adapters.prompt;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.typesafe.config.Config;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.KeyValueCapture;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.api.model.AttentionShape;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.PluginContext;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code method = prefix-tuning} (Li and Liang, 2021; HF PEFT's {@code PREFIX_TUNING}): P trainable key/value
 * vectors per layer, attended before the input's own, through {@link dev.peft4j.api.model.VirtualTokens}; the
 * model is frozen. Trainable parameters equal PEFT's: {@code P * layers * 2 * kvHeads * headDim} without the
 * projection (all-MiniLM-L6-v2, P = 20: 92,160), plus the MLP with it.
 */
public final class PrefixTuningMethod implements AdapterMethodFactory<PrefixTuningConfig> {
    public static final String NAME = "prefix-tuning";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "prefix tuning: trainable per-layer key/value prefixes (HF PEFT PREFIX_TUNING)";
    }

    @Override
    public PrefixTuningConfig parseConfig(Config section) {
        return PrefixTuningConfig.from(section);
    }

    @Override
    public PromptLearningModel apply(Module root, PrefixTuningConfig config, PluginContext context) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        TransformerModel model = requireNonNull(context, "context is null").requireModel(NAME);
        NDArray initial = null;
        if (config.init().equals("text")) {
            TextTokenizer tokenizer = context.tokenizer().orElseThrow(() -> new Peft4jException("method.init = text needs the model's"
                    + " tokenizer (tokenizer.json), and this model has none; use init = random"));
            initial = textPrefix(model, PromptTuningMethod.initTokenIds(config.initText(), config.numVirtualTokens(), tokenizer));
        }
        PromptLearningModel adaptation;
        try {
            adaptation = apply(model, root, config, context.seed());
            if (initial != null) {
                Parameter weight = adaptation.encoder().child("embedding").parameter("weight");
                NDArray copy = initial.duplicate();
                copy.attach(model.manager());
                weight.setValue(copy);
            }
        } finally {
            if (initial != null) {
                initial.getManager().close();
            }
        }
        context.logger().info("{}: {} virtual tokens, {} trainable parameters in {}", NAME, config.numVirtualTokens(),
                adaptation.encoder().parameterCount(), PromptLearningModel.CONTAINER + "." + PromptLearningModel.ADAPTER_NAME);
        return adaptation;
    }

    /**
     * The keys and values of {@code ids} run through the frozen model, as the prefix tensor {@code [P, 2L * kvDim]}
     * (for each token: layer 0's key, layer 0's value, layer 1's key, ...: PEFT's layout). Llama's keys carry the
     * rotary embedding of positions 0..P-1, as a cache would: the prefix then acts exactly like the text placed
     * before the input (for decoders). In a sub-manager of the model's that the caller closes.
     */
    static NDArray textPrefix(TransformerModel model, long[] ids) {
        AttentionShape shape = model.attentionShape();
        NDManager manager = model.manager().newSubManager();
        try {
            KeyValueCapture capture = new KeyValueCapture();
            ForwardContext ctx = ForwardContext.inference(manager).setAttribute(KeyValueCapture.KEY, capture);
            NDArray tokens = manager.create(ids, new Shape(1, ids.length));
            model.forward(new ModelInput(tokens, manager.ones(new Shape(1, ids.length), DataType.INT64)), ctx);
            if (capture.layers().size() != shape.layers()) {
                throw new Peft4jException(NAME + ": init = text captured " + capture.layers().size() + " layers of keys/values, the model has "
                        + shape.layers() + " (" + model.getClass().getSimpleName() + " does not report them)");
            }
            NDList parts = new NDList();
            for (NDArray[] kv : capture.layers().values()) {
                for (NDArray x : kv) { // [1, kvH, P, d] -> [P, kvH * d]
                    parts.add(x.get(0).transpose(1, 0, 2).reshape(ids.length, shape.kvDim()));
                }
            }
            return NDArrays.concat(parts, 1).stopGradient();
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Builds and attaches the prefix encoder; nothing changes on error. */
    static PromptLearningModel apply(TransformerModel model, Module root, PrefixTuningConfig config, long seed) {
        AttentionShape shape = model.attentionShape();
        PrefixEncoder encoder = new PrefixEncoder(model.manager(), shape, config.numVirtualTokens(), config.prefixProjection(),
                config.encoderHiddenSize(), seed);
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("encoder_hidden_size", config.encoderHiddenSize() > 0 ? config.encoderHiddenSize() : shape.kvDim());
        fields.put("prefix_projection", config.prefixProjection());
        try {
            return PromptLearningModel.attach(PromptLearningModel.Kind.PREFIX_TUNING, model, root, encoder, config.numVirtualTokens(),
                    PeftPromptFiles.peftConfig(PromptLearningModel.Kind.PREFIX_TUNING, model, config.numVirtualTokens(), fields));
        } catch (RuntimeException e) {
            encoder.namedParameters().values().forEach(p -> p.value().close());
            throw e;
        }
    }
}
