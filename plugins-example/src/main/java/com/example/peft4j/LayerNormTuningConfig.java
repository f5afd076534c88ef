package com.example.peft4j;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import java.util.List;

/**
 * The validated config of {@code example-norm-tuning}.
 *
 * @param includeBias whether the norms' biases train too
 * @param layers layer indices whose norms train; empty means every norm
 */
public record LayerNormTuningConfig(boolean includeBias, List<Integer> layers) {
    public LayerNormTuningConfig {
        layers = List.copyOf(layers);
    }

    /** Strict: every problem (types, negative layers, unknown keys) is reported together. */
    public static LayerNormTuningConfig from(Config section) {
        ConfigReader r = new ConfigReader(section, "");
        boolean includeBias = r.bool("include-bias");
        List<Integer> layers = r.intList("layers");
        for (int layer : layers) {
            if (layer < 0) {
                r.problem("layers", "contains " + layer + ", expected layer indices >= 0");
            }
        }
        r.finish();
        return new LayerNormTuningConfig(includeBias, layers);
    }
}
