package dev.peft4j.adapters;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.api.spi.ParameterSchedule;
import dev.peft4j.api.tuner.ModulePatterns;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Settings of {@code method = full} ({@code peft4j.methods.full}).
 *
 * @param freeze modules or parameters kept frozen (LoRA's target-modules rules)
 * @param freezeEmbeddings whether the embedding modules are frozen
 * @param trainableLayers train only the top N layers and what follows them; -1: all layers
 * @param freezeLayers freeze the embeddings and the bottom N layers; -1: off
 * @param layerLrDecay layer-wise learning-rate decay in (0, 1]: the top layer and what follows it at the base rate,
 *     each lower layer times the factor, the embeddings lowest; 1: off
 * @param learningRateScales discriminative learning rates: module or parameter pattern (exact or dotted suffix) to a
 *     factor of the base rate, sorted by pattern
 * @param unfreezeEvery gradual unfreezing: one more layer every N {@code unfreezeUnit}; 0: off
 * @param unfreezeUnit the unit of {@code unfreezeEvery}
 */
public record FullFineTuningConfig(ModulePatterns freeze, boolean freezeEmbeddings, int trainableLayers, int freezeLayers, double layerLrDecay,
        Map<String, Double> learningRateScales, int unfreezeEvery, ParameterSchedule.Unit unfreezeUnit) {
    public static final int ALL_LAYERS = -1;
    public static final int NO_FREEZE_LAYERS = -1;

    public FullFineTuningConfig {
        requireNonNull(freeze, "freeze is null");
        requireNonNull(unfreezeUnit, "unfreezeUnit is null");
        if (trainableLayers < ALL_LAYERS) {
            throw new IllegalArgumentException("trainableLayers must be >= 0, or -1 for all; got " + trainableLayers);
        }
        if (freezeLayers < NO_FREEZE_LAYERS) {
            throw new IllegalArgumentException("freezeLayers must be >= 0, or -1 for none; got " + freezeLayers);
        }
        if (trainableLayers != ALL_LAYERS && freezeLayers != NO_FREEZE_LAYERS) {
            throw new IllegalArgumentException("trainable-layers and freeze-layers cannot both be set");
        }
        if (!(layerLrDecay > 0 && layerLrDecay <= 1)) {
            throw new IllegalArgumentException("layer-lr-decay must be in (0, 1], got " + layerLrDecay);
        }
        if (unfreezeEvery < 0) {
            throw new IllegalArgumentException("unfreeze-every must be >= 0, got " + unfreezeEvery);
        }
        learningRateScales = Collections.unmodifiableMap(new TreeMap<>(requireNonNull(learningRateScales, "learningRateScales is null")));
        learningRateScales.forEach((k, v) -> {
            if (!(v > 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("learning-rate-scale." + k + " must be a finite number > 0, got " + v);
            }
        });
    }

    /** Everything trains, at the base learning rate, from the first step. */
    public static FullFineTuningConfig all() {
        return new FullFineTuningConfig(ModulePatterns.none(), false, ALL_LAYERS, NO_FREEZE_LAYERS, 1.0, Map.of(), 0, ParameterSchedule.Unit.STEPS);
    }

    /** Whether the trainer needs a schedule (some rate other than the base one, or gradual unfreezing). */
    public boolean hasSchedule() {
        return layerLrDecay != 1.0 || !learningRateScales.isEmpty() || unfreezeEvery > 0;
    }

    /** Parses a {@code peft4j.methods.full} section (defaults merged in); every problem is reported together. */
    public static FullFineTuningConfig from(Config section) {
        ConfigReader reader = new ConfigReader(requireNonNull(section, "section is null"), "").allow("name");
        ModulePatterns freeze = ModulePatterns.read(reader, "freeze");
        boolean freezeEmbeddings = reader.bool("freeze-embeddings");
        int layers = optionalCount(reader, section, "trainable-layers", ALL_LAYERS);
        int freezeLayers = optionalCount(reader, section, "freeze-layers", NO_FREEZE_LAYERS);
        if (layers != ALL_LAYERS && freezeLayers != NO_FREEZE_LAYERS) {
            reader.problem("freeze-layers", "is " + freezeLayers + ", but trainable-layers = " + layers
                    + " is set too; set one of them (freeze-layers = N freezes the embeddings and the bottom N layers)");
            freezeLayers = NO_FREEZE_LAYERS;
        }
        double decay = reader.doubleValue("layer-lr-decay", 0, false, 1, true);
        Map<String, Double> scales = scales(reader, "learning-rate-scale");
        int every = reader.intValue("unfreeze-every", 0, Integer.MAX_VALUE);
        String unit = reader.oneOf("unfreeze-unit", java.util.List.of("steps", "epochs"));
        reader.finish();
        return new FullFineTuningConfig(freeze, freezeEmbeddings, layers, freezeLayers, decay, scales, every,
                unit.equals("epochs") ? ParameterSchedule.Unit.EPOCHS : ParameterSchedule.Unit.STEPS);
    }

    private static int optionalCount(ConfigReader reader, Config section, String key, int absent) {
        if (reader.has(key) && !section.getIsNull(key)) {
            return reader.intValue(key, 0, Integer.MAX_VALUE);
        }
        return absent;
    }

    /** {@code { "encoder.layer.0" = 0.1, classifier = 10 }}: unquoted dotted keys are nested objects in HOCON, flattened back. */
    private static Map<String, Double> scales(ConfigReader reader, String key) {
        Map<String, Double> out = new LinkedHashMap<>();
        if (reader.valueType(key).orElse(null) != ConfigValueType.OBJECT) {
            reader.section(key); // records the type problem
            return out;
        }
        Map<String, ConfigValue> flat = new LinkedHashMap<>();
        flatten("", (ConfigObject) reader.config().getValue(key), flat);
        flat.forEach((pattern, v) -> {
            if (v.valueType() == ConfigValueType.NUMBER && ((Number) v.unwrapped()).doubleValue() > 0
                    && Double.isFinite(((Number) v.unwrapped()).doubleValue())) {
                out.put(pattern, ((Number) v.unwrapped()).doubleValue());
            } else {
                reader.problem(key, "entry '" + pattern + "' is " + v.render() + ", expected a number > 0 (a factor of train.learning-rate)");
            }
        });
        return out;
    }

    private static void flatten(String prefix, ConfigObject object, Map<String, ConfigValue> out) {
        for (Map.Entry<String, ConfigValue> e : object.entrySet()) {
            String k = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue().valueType() == ConfigValueType.OBJECT) {
                flatten(k, (ConfigObject) e.getValue(), out);
            } else {
                out.put(k, e.getValue());
            }
        }
    }
}
