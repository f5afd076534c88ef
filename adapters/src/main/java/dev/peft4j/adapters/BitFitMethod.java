package dev.peft4j.adapters;

import dev.peft4j.api.tuner.ModulePatterns;
import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.PluginContext;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code method = bitfit} (Ben Zaken, Ravfogel and Goldberg, 2022): only the bias terms train, that is
 * every parameter whose local name is {@code bias} (Linear and LayerNorm biases), plus the task head (the
 * children of a task-model root other than the backbone's {@link TransformerModel#baseModelPrefix()}) and
 * the {@code modules-to-save}. Everything else is frozen.
 */
public final class BitFitMethod implements AdapterMethodFactory<BitFitConfig> {
    public static final String NAME = "bitfit";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "BitFit: only bias terms (and the task head) train";
    }

    @Override
    public BitFitConfig parseConfig(Config section) {
        return BitFitConfig.from(section);
    }

    @Override
    public TrainableSubset apply(Module root, BitFitConfig config, PluginContext context) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        Set<String> trainable = trainableNames(root, config, baseModelPrefix(context));
        if (trainable.isEmpty()) {
            throw new Peft4jException("method bitfit: the model has no parameter named 'bias' and no head or modules-to-save. "
                    + ModulePatterns.describe(root));
        }
        TrainableSubset.applyFlags(root, trainable);
        context.logger().info("bitfit: {} of {} parameters trainable", root.trainableParameterCount(), root.parameterCount());
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("modules-to-save", config.modulesToSave().toString());
        return new TrainableSubset(NAME, root, settings);
    }

    /** Biases, head and modules-to-save, in tree order; nothing is changed. */
    static Set<String> trainableNames(Module root, BitFitConfig config, String baseModelPrefix) {
        Set<String> out = new LinkedHashSet<>();
        List<String> saved = config.modulesToSave().isEmpty() ? List.of()
                : List.copyOf(new ModulePatterns(config.modulesToSave(), null).selectedParameters(root, "modules-to-save"));
        boolean taskModel = baseModelPrefix != null && root.hasChild(baseModelPrefix);
        for (String name : root.namedParameters().keySet()) {
            boolean bias = name.equals("bias") || name.endsWith(".bias");
            boolean head = taskModel && !name.startsWith(baseModelPrefix + ".");
            if (bias || head || saved.contains(name)) {
                out.add(name);
            }
        }
        return out;
    }

    private static String baseModelPrefix(PluginContext context) {
        return context.model().map(TransformerModel::baseModelPrefix).orElse(null);
    }
}
