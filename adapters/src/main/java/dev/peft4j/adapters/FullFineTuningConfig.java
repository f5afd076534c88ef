package dev.peft4j.adapters;

import dev.peft4j.api.tuner.ModulePatterns;
import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;

/**
 * Settings of {@code method = full} ({@code peft4j.methods.full}).
 *
 * @param freeze modules or parameters kept frozen (LoRA's target-modules rules)
 * @param freezeEmbeddings whether the embedding modules are frozen
 * @param trainableLayers train only the top N layers and what follows them; -1: all layers
 */
public record FullFineTuningConfig(ModulePatterns freeze, boolean freezeEmbeddings, int trainableLayers) {
    public static final int ALL_LAYERS = -1;

    public FullFineTuningConfig {
        requireNonNull(freeze, "freeze is null");
        if (trainableLayers < ALL_LAYERS) {
            throw new IllegalArgumentException("trainableLayers must be >= 0, or -1 for all; got " + trainableLayers);
        }
    }

    /** Everything trains. */
    public static FullFineTuningConfig all() {
        return new FullFineTuningConfig(ModulePatterns.none(), false, ALL_LAYERS);
    }

    /** Parses a {@code peft4j.methods.full} section (defaults merged in); every problem is reported together. */
    public static FullFineTuningConfig from(Config section) {
        ConfigReader reader = new ConfigReader(requireNonNull(section, "section is null"), "").allow("name");
        ModulePatterns freeze = ModulePatterns.read(reader, "freeze");
        boolean freezeEmbeddings = reader.bool("freeze-embeddings");
        int layers = ALL_LAYERS;
        if (reader.has("trainable-layers") && !section.getIsNull("trainable-layers")) {
            layers = reader.intValue("trainable-layers", 0, Integer.MAX_VALUE);
        }
        reader.finish();
        return new FullFineTuningConfig(freeze, freezeEmbeddings, layers);
    }
}
