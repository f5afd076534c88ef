package dev.peft4j.adapters;

import dev.peft4j.api.tuner.ModulePatterns;
import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.ParameterSchedule;
import dev.peft4j.api.spi.PluginContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code method = full}: full fine-tuning. Every parameter trains except those frozen by {@code freeze},
 * {@code freeze-embeddings} and {@code trainable-layers}. Layers are the outermost modules of type
 * {@link ModuleType#LAYER} in tree order ({@code encoder.layer.N}, {@code model.layers.N}); with
 * {@code trainable-layers = N} every parameter before the top N layers in tree order (embeddings, lower
 * layers) is frozen, and the top layers and everything after them (pooler, final norm, task head) train;
 * {@code freeze-layers = N} freezes the embeddings and the bottom N layers. {@code layer-lr-decay},
 * {@code learning-rate-scale} and {@code unfreeze-every} make the adaptation's {@link ParameterSchedule}
 * ({@link LayerSchedule}), which the trainer applies as parameter groups.
 */
public final class FullFineTuningMethod implements AdapterMethodFactory<FullFineTuningConfig> {
    public static final String NAME = "full";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "full fine-tuning: every parameter trains, except frozen patterns, embeddings or lower layers";
    }

    @Override
    public FullFineTuningConfig parseConfig(Config section) {
        return FullFineTuningConfig.from(section);
    }

    @Override
    public TrainableSubset apply(Module root, FullFineTuningConfig config, PluginContext context) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        requireNonNull(context, "context is null");
        Set<String> trainable = trainableNames(root, config);
        if (trainable.isEmpty()) {
            throw new Peft4jException("method full: the freeze settings (" + describe(config) + ") leave nothing trainable");
        }
        ParameterSchedule schedule = LayerSchedule.of(root, config);
        TrainableSubset.applyFlags(root, trainable);
        context.logger().info("full: {} of {} parameters trainable ({})", root.trainableParameterCount(), root.parameterCount(), describe(config));
        return new TrainableSubset(NAME, root, settings(config), schedule);
    }

    /** The full names of the parameters that train under {@code config}, in tree order; nothing is changed. */
    static Set<String> trainableNames(Module root, FullFineTuningConfig config) {
        Set<String> frozen = new LinkedHashSet<>();
        if (!config.freeze().isEmpty()) {
            frozen.addAll(config.freeze().selectedParameters(root, "freeze"));
        }
        if (config.freezeEmbeddings()) {
            List<String> embeddingPaths = new ArrayList<>();
            root.namedModules().forEach((path, m) -> {
                if (m.type().equals(ModuleType.EMBEDDINGS) || m.type().equals(ModuleType.EMBEDDING)) {
                    embeddingPaths.add(path);
                }
            });
            if (embeddingPaths.isEmpty()) {
                throw new Peft4jException("freeze-embeddings = true, but the model has no module of type embeddings or embedding. "
                        + ModulePatterns.describe(root));
            }
            root.namedParameters().keySet().stream().filter(n -> underAny(n, embeddingPaths)).forEach(frozen::add);
        }
        if (config.trainableLayers() != FullFineTuningConfig.ALL_LAYERS) {
            frozen.addAll(belowTopLayers(root, config.trainableLayers()));
        }
        if (config.freezeLayers() != FullFineTuningConfig.NO_FREEZE_LAYERS) {
            int count = layers(root).size();
            if (count == 0) {
                throw new Peft4jException("freeze-layers = " + config.freezeLayers() + ", but the model has no modules of type layer. "
                        + ModulePatterns.describe(root));
            }
            if (config.freezeLayers() > count) {
                throw new Peft4jException("freeze-layers = " + config.freezeLayers() + ", but the model has only " + count + " layers ("
                        + layers(root).get(0) + " ... " + layers(root).get(count - 1) + "); at most " + count + " (every layer frozen)");
            }
            // the embeddings and the bottom N layers = everything before the top (count - N) layers, in tree order
            frozen.addAll(belowTopLayers(root, count - config.freezeLayers()));
        }
        Set<String> out = new LinkedHashSet<>(root.namedParameters().keySet());
        out.removeAll(frozen);
        return out;
    }

    /** The outermost modules of type layer, in tree order ({@code bert.encoder.layer.0}, ...). */
    static List<String> layers(Module root) {
        List<String> layers = new ArrayList<>();
        root.namedModules().forEach((path, m) -> {
            if (m.type().equals(ModuleType.LAYER) && layers.stream().noneMatch(l -> path.startsWith(l + "."))) {
                layers.add(path);
            }
        });
        return layers;
    }

    /** Parameters before the first of the top {@code n} layers, in tree order. */
    static List<String> belowTopLayers(Module root, int n) {
        List<String> layers = layers(root);
        if (layers.isEmpty()) {
            throw new Peft4jException("trainable-layers = " + n + ", but the model has no modules of type layer. " + ModulePatterns.describe(root));
        }
        if (n > layers.size()) {
            throw new Peft4jException("trainable-layers = " + n + ", but the model has only " + layers.size() + " layers ("
                    + layers.get(0) + " ... " + layers.get(layers.size() - 1) + ")");
        }
        // Tree order: everything before the first parameter of the first trained layer is frozen; with
        // n = 0, everything up to the last parameter of the last layer.
        List<String> names = new ArrayList<>(root.namedParameters().keySet());
        int cut = 0;
        if (n > 0) {
            String firstTrained = layers.get(layers.size() - n) + ".";
            while (cut < names.size() && !names.get(cut).startsWith(firstTrained)) {
                cut++;
            }
        } else {
            String lastLayer = layers.get(layers.size() - 1) + ".";
            for (int i = 0; i < names.size(); i++) {
                if (names.get(i).startsWith(lastLayer)) {
                    cut = i + 1;
                }
            }
        }
        return List.copyOf(names.subList(0, cut));
    }

    private static boolean underAny(String name, List<String> paths) {
        return paths.stream().anyMatch(p -> name.startsWith(p + "."));
    }

    private static String describe(FullFineTuningConfig config) {
        return "freeze " + config.freeze() + ", freeze-embeddings " + config.freezeEmbeddings() + ", trainable-layers "
                + (config.trainableLayers() == FullFineTuningConfig.ALL_LAYERS ? "all" : config.trainableLayers())
                + (config.freezeLayers() == FullFineTuningConfig.NO_FREEZE_LAYERS ? "" : ", freeze-layers " + config.freezeLayers())
                + (config.layerLrDecay() == 1.0 ? "" : ", layer-lr-decay " + config.layerLrDecay())
                + (config.learningRateScales().isEmpty() ? "" : ", learning-rate-scale " + config.learningRateScales())
                + (config.unfreezeEvery() == 0 ? "" : ", unfreeze-every " + config.unfreezeEvery() + " " + config.unfreezeUnit().name().toLowerCase(java.util.Locale.ROOT));
    }

    static Map<String, String> settings(FullFineTuningConfig config) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("freeze", config.freeze().toString());
        out.put("freeze-embeddings", Boolean.toString(config.freezeEmbeddings()));
        out.put("trainable-layers", Integer.toString(config.trainableLayers()));
        out.put("freeze-layers", Integer.toString(config.freezeLayers()));
        out.put("layer-lr-decay", Double.toString(config.layerLrDecay()));
        out.put("learning-rate-scale", config.learningRateScales().toString());
        out.put("unfreeze-every", Integer.toString(config.unfreezeEvery()));
        out.put("unfreeze-unit", config.unfreezeUnit().name().toLowerCase(java.util.Locale.ROOT));
        return out;
    }
}
