package dev.peft4j.distillation;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;

/**
 * {@code token-kl}: {@code temperature} (> 0), {@code alpha} in [0, 1] (share of the KL term; the rest is
 * the task loss), and {@code shift}: whether the logits at position t predict the label at t + 1 (causal
 * LMs: true; token classifiers: false).
 */
public record TokenKlConfig(float temperature, float alpha, boolean shift) {
    static TokenKlConfig parse(Config section) {
        ConfigReader r = new ConfigReader(section, "").allow("name");
        float temperature = SoftTargetConfig.temperature(r);
        float alpha = (float) r.doubleValue("alpha", 0, true, 1, true);
        boolean shift = r.bool("shift");
        r.finish();
        return new TokenKlConfig(temperature, alpha, shift);
    }
}
