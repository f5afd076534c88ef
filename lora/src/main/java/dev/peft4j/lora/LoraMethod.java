package dev.peft4j.lora;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.PluginContext;

/** The {@code lora} adapter method: LoRA, rsLoRA ({@code use-rslora}) and DoRA ({@code use-dora}). */
public final class LoraMethod implements AdapterMethodFactory<LoraConfig> {
    public static final String NAME = "lora";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "LoRA / rsLoRA / DoRA low-rank adapters on Linear layers, HF PEFT compatible files, merge and multi-adapter";
    }

    @Override
    public LoraConfig parseConfig(Config section) {
        return LoraConfig.from(requireNonNull(section, "section is null"));
    }

    /**
     * Wraps the targeted Linear modules of {@code root} in {@link LoraLinear}s, freezes everything else, and
     * logs the matched module paths and the parameter counts. Seeds from {@link PluginContext#seed()}.
     */
    @Override
    public LoraModel apply(Module root, LoraConfig config, PluginContext context) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        String modelType = modelType(context);
        if (config.baseModelNameOrPath() == null && context.model().isPresent() && context.model().get().config() != null) {
            // PEFT's base_model_name_or_path: the directory the model's config.json came from
            java.nio.file.Path source = java.nio.file.Path.of(context.model().get().config().source());
            if (source.getFileName() != null && source.getFileName().toString().equals("config.json") && source.getParent() != null) {
                config = config.toBuilder().baseModelNameOrPath(source.getParent().toString()).build();
            }
        }
        LoraModel model = LoraModel.create(root, config, modelType, context.seed());
        context.logger().info("lora: adapted {} modules: {}", model.targetedModules().size(), model.targetedModules());
        context.logger().info("lora: {}", LoraSummary.line(root));
        return model;
    }

    private static String modelType(PluginContext context) {
        TransformerModel model = context.model().orElse(null);
        if (model == null || model.config() == null || !model.config().has("model_type")) {
            return null;
        }
        return model.config().modelType();
    }
}
