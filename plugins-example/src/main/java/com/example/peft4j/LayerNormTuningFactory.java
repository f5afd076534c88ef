package com.example.peft4j;

import com.typesafe.config.Config;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.PluginContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LayerNorm tuning: freezes the whole tree and trains only the LayerNorm/RMSNorm weights (and
 * biases), optionally only in some layers. Adds no modules and no parameters.
 */
public final class LayerNormTuningFactory implements AdapterMethodFactory<LayerNormTuningConfig> {
    public static final String NAME = "example-norm-tuning";

    /** A layer index in HF paths: {@code encoder.layer.3.}, {@code model.layers.3.}, {@code h.3.}. */
    private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:layer|layers|h)\\.(\\d+)(?:\\.|$)");

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "trains only LayerNorm/RMSNorm weights (and biases); everything else is frozen";
    }

    @Override
    public LayerNormTuningConfig parseConfig(Config section) {
        return LayerNormTuningConfig.from(section);
    }

    @Override
    public Adaptation apply(Module root, LayerNormTuningConfig config, PluginContext context) {
        // decide everything first, so that a bad config changes nothing
        Map<String, Module> norms = new LinkedHashMap<>();
        TreeSet<Integer> layersSeen = new TreeSet<>();
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            ModuleType type = e.getValue().type();
            if (!type.equals(ModuleType.LAYER_NORM) && !type.equals(ModuleType.RMS_NORM)) {
                continue;
            }
            Integer layer = layerOf(e.getKey());
            if (layer != null) {
                layersSeen.add(layer);
            }
            if (config.layers().isEmpty() || (layer != null && config.layers().contains(layer))) {
                norms.put(e.getKey(), e.getValue());
            }
        }
        if (norms.isEmpty() && config.layers().isEmpty()) {
            throw new Peft4jException(NAME + ": the model has no LayerNorm or RMSNorm modules");
        }
        for (int layer : config.layers()) {
            if (!layersSeen.contains(layer)) {
                throw new Peft4jException(NAME + ": layers contains " + layer + ", but the model's norms are in layers " + layersSeen);
            }
        }
        Map<String, Parameter> trainable = new LinkedHashMap<>();
        norms.forEach((path, norm) -> norm.localParameters().forEach((local, p) -> {
            if (local.equals("weight") || (config.includeBias() && local.equals("bias"))) {
                trainable.put(path + "." + local, p);
            }
        }));
        Map<Parameter, Boolean> previous = new LinkedHashMap<>();
        root.namedParameters().values().forEach(p -> previous.put(p, p.trainable()));
        root.setTrainable(false);
        trainable.values().forEach(p -> p.setTrainable(true));
        context.logger().info("{}: training {} tensors of {} norm modules", NAME, trainable.size(), norms.size());
        return new LayerNormTuningAdaptation(config, List.copyOf(norms.keySet()), trainable, previous);
    }

    static Integer layerOf(String path) {
        Matcher m = LAYER.matcher(path);
        return m.find() ? Integer.valueOf(m.group(1)) : null;
    }
}
