package dev.peft4j.adapters.prompt;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
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
        PromptLearningModel adaptation = apply(model, root, config, context.seed());
        context.logger().info("{}: {} virtual tokens, {} trainable parameters in {}", NAME, config.numVirtualTokens(),
                adaptation.encoder().parameterCount(), PromptLearningModel.CONTAINER + "." + PromptLearningModel.ADAPTER_NAME);
        return adaptation;
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
