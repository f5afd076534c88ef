package dev.peft4j.distillation;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;

/**
 * {@code soft-target-kl}: {@code temperature} T (> 0) and {@code alpha} in [0, 1], the share of the
 * soft-target term; the rest is the task (hard-label) loss: {@code alpha * T^2 * KL + (1 - alpha) * CE}.
 */
public record SoftTargetConfig(float temperature, float alpha) {
    static SoftTargetConfig parse(Config section) {
        ConfigReader r = new ConfigReader(section, "").allow("name");
        float temperature = temperature(r);
        float alpha = (float) r.doubleValue("alpha", 0, true, 1, true);
        r.finish();
        return new SoftTargetConfig(temperature, alpha);
    }

    /** {@code temperature}, which must be positive (softmax(z / T) is undefined at T = 0, and T < 0 inverts the ranking). */
    static float temperature(ConfigReader r) {
        return (float) r.doubleValue("temperature", 0, false, 1000, true);
    }
}
