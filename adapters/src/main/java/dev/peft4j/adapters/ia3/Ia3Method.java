package dev.peft4j.adapters.ia3;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.PluginContext;

/** {@code method = ia3}: HF PEFT's IA3, learned rescaling of keys, values and feed-forward inputs. */
public final class Ia3Method implements AdapterMethodFactory<Ia3Config> {
    public static final String NAME = "ia3";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "IA3: learned scaling vectors on keys, values and feed-forward inputs (init ones), mergeable, HF PEFT compatible files";
    }

    @Override
    public Ia3Config parseConfig(Config section) {
        return Ia3Config.from(section);
    }

    @Override
    public Ia3Model apply(Module root, Ia3Config config, PluginContext context) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        String modelType = context.model().map(TransformerModel::config).filter(c -> c.has("model_type")).map(c -> c.modelType()).orElse(null);
        Ia3Model model = Ia3Model.create(root, config, modelType);
        context.logger().info("ia3: adapted {} modules ({} feed-forward): {}", model.targetedModules().size(),
                model.feedforwardModules().size(), model.targetedModules());
        context.logger().info("ia3: {} of {} parameters trainable", root.trainableParameterCount(), root.parameterCount());
        return model;
    }
}
