package dev.peft4j.adapters.lntuning;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.PluginContext;

/** {@code method = layernorm-tuning}: HF PEFT's LN_TUNING, only the LayerNorm/RMSNorm weights and biases train. */
public final class LayerNormTuningMethod implements AdapterMethodFactory<LayerNormTuningConfig> {
    public static final String NAME = LayerNormTuningModel.METHOD;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "LN tuning (PEFT LN_TUNING): only the LayerNorm/RMSNorm weights and biases train, HF PEFT compatible files";
    }

    @Override
    public LayerNormTuningConfig parseConfig(Config section) {
        return LayerNormTuningConfig.from(section);
    }

    @Override
    public LayerNormTuningModel apply(Module root, LayerNormTuningConfig config, PluginContext context) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        String modelType = context.model().map(TransformerModel::config).filter(c -> c.has("model_type")).map(c -> c.modelType()).orElse(null);
        LayerNormTuningModel model = LayerNormTuningModel.create(root, config, modelType);
        context.logger().info("layernorm-tuning: {} norm modules, {} of {} parameters trainable", model.targetedModules().size(),
                root.trainableParameterCount(), root.parameterCount());
        return model;
    }
}
