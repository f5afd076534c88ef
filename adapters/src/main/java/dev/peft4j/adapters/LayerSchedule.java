package dev.peft4j.adapters;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.ParameterSchedule;
import dev.peft4j.api.tuner.ModulePatterns;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@link ParameterSchedule} of {@code method = full}. The model is cut at its layers (the outermost
 * modules of type layer, in tree order): parameters before the first layer are the embeddings, those after the
 * last one (pooler, final norm, task head, objectives) the top.
 *
 * <ul>
 *   <li>Layer-wise learning-rate decay {@code d} (ELECTRA, BEiT): with {@code L} layers, the top and layer
 *       {@code L-1} train at the base rate, layer {@code i} at {@code d^(L-1-i)}, the embeddings at {@code d^L}.
 *       (BEiT's code gives its top layer {@code d^1}, ELECTRA's {@code d^2}: here the top layer is at the base
 *       rate, as issue #12 asks.)</li>
 *   <li>Discriminative rates: {@code learning-rate-scale} patterns multiply that factor. A parameter takes the
 *       pattern that matches the deepest of its name and enclosing module paths (ties: the longer pattern), so
 *       {@code encoder = 0.5} with {@code "layer.5" = 1} gives layer 5 the base rate.</li>
 *   <li>Gradual unfreezing (ULMFiT): stage 0 is the top and layer {@code L-1}; layer {@code i} is stage
 *       {@code L-1-i}; the embeddings are stage {@code L}. Frozen parameters never train, whatever their stage.</li>
 * </ul>
 */
final class LayerSchedule implements ParameterSchedule {
    private final List<String> layers;
    private final Set<String> embeddings;
    private final double decay;
    private final Map<String, Double> scales;
    private final int every;
    private final Unit unit;

    private LayerSchedule(List<String> layers, Set<String> embeddings, double decay, Map<String, Double> scales, int every, Unit unit) {
        this.layers = List.copyOf(layers);
        this.embeddings = Set.copyOf(embeddings);
        this.decay = decay;
        this.scales = Map.copyOf(scales);
        this.every = every;
        this.unit = unit;
    }

    /**
     * The schedule of {@code config} on {@code root}; checks that every {@code learning-rate-scale} pattern matches a
     * parameter and that the model has layers when a setting needs them.
     */
    static ParameterSchedule of(Module root, FullFineTuningConfig config) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        if (!config.hasSchedule()) {
            return ParameterSchedule.none();
        }
        List<String> layers = FullFineTuningMethod.layers(root);
        if (layers.isEmpty() && (config.layerLrDecay() != 1.0 || config.unfreezeEvery() > 0)) {
            throw new Peft4jException((config.unfreezeEvery() > 0 ? "unfreeze-every = " + config.unfreezeEvery()
                    : "layer-lr-decay = " + config.layerLrDecay()) + ", but the model has no modules of type layer. " + ModulePatterns.describe(root));
        }
        Set<String> names = root.namedParameters().keySet();
        List<String> unmatched = new ArrayList<>();
        for (String pattern : config.learningRateScales().keySet()) {
            if (names.stream().noneMatch(n -> matchDepth(pattern, n) >= 0)) {
                unmatched.add(pattern);
            }
        }
        if (!unmatched.isEmpty()) {
            throw new Peft4jException("learning-rate-scale entries " + unmatched + " match no module path or parameter name. "
                    + ModulePatterns.describe(root));
        }
        Set<String> embeddings = new LinkedHashSet<>();
        if (!layers.isEmpty()) {
            for (String n : names) {
                if (n.startsWith(layers.get(0) + ".")) {
                    break;
                }
                embeddings.add(n);
            }
        }
        return new LayerSchedule(layers, embeddings, config.layerLrDecay(), config.learningRateScales(), config.unfreezeEvery(), config.unfreezeUnit());
    }

    @Override
    public Group groupOf(String parameterName) {
        int position = position(parameterName); // -1 embeddings, 0..L-1 layer, L top
        int depth = position < 0 ? layers.size() : position >= layers.size() ? 0 : layers.size() - 1 - position;
        String name = position < 0 ? "embeddings" : position >= layers.size() ? "top" : "layer " + position;
        double scale = Math.pow(decay, depth);
        String pattern = patternOf(parameterName);
        if (pattern != null) {
            scale *= scales.get(pattern);
            name += " [" + pattern + "]";
        }
        return new Group(name, scale, every > 0 ? depth : 0);
    }

    @Override
    public int unfreezeEvery() {
        return every;
    }

    @Override
    public Unit unfreezeUnit() {
        return unit;
    }

    @Override
    public String unfreezeSetting() {
        return "method.unfreeze-every = " + every + " (method.unfreeze-unit = " + (unit == Unit.EPOCHS ? "epochs" : "steps") + ")";
    }

    /** -1 before the first layer (in tree order), the layer's index inside one, {@code L} after the last (or unknown to the tree). */
    private int position(String parameterName) {
        if (embeddings.contains(parameterName)) {
            return -1;
        }
        for (int i = 0; i < layers.size(); i++) {
            if (parameterName.startsWith(layers.get(i) + ".")) {
                return i;
            }
        }
        return layers.size();
    }

    /** The pattern whose match is deepest (longest matched path), ties to the longer pattern; null when none matches. */
    private String patternOf(String parameterName) {
        String best = null;
        int bestDepth = -1;
        for (String pattern : scales.keySet()) {
            int d = matchDepth(pattern, parameterName);
            if (d > bestDepth || (d == bestDepth && d >= 0 && pattern.length() > best.length())) {
                best = pattern;
                bestDepth = d;
            }
        }
        return bestDepth < 0 ? null : best;
    }

    /** The length of the longest of {@code name} and its ancestors that {@code pattern} matches (exact or dotted suffix); -1: none. */
    static int matchDepth(String pattern, String name) {
        String current = name;
        while (true) {
            if (ModulePatterns.matchesEntry(pattern, current)) {
                return current.length();
            }
            int dot = current.lastIndexOf('.');
            if (dot <= 0) {
                return -1;
            }
            current = current.substring(0, dot);
        }
    }

}
