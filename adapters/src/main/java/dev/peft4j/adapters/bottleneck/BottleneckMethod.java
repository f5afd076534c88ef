package dev.peft4j.adapters.bottleneck;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.PluginContext;

/** {@code method = bottleneck}: AdapterHub's Houlsby or Pfeiffer bottleneck adapters on BERT-style encoders. */
public final class BottleneckMethod implements AdapterMethodFactory<BottleneckConfig> {
    public static final String NAME = BottleneckModel.METHOD;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "Bottleneck adapters (AdapterHub Houlsby / Pfeiffer) on BERT-style encoders, up-projection zero at init";
    }

    @Override
    public BottleneckConfig parseConfig(Config section) {
        return BottleneckConfig.from(section);
    }

    @Override
    public BottleneckModel apply(Module root, BottleneckConfig config, PluginContext context) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        BottleneckModel model = BottleneckModel.create(root, config, context.seed());
        context.logger().info("bottleneck: {} adapters of width {} ({}), {} of {} parameters trainable", model.targetedModules().size(),
                model.bottleneckSize(), config.architecture(), root.trainableParameterCount(), root.parameterCount());
        return model;
    }
}
