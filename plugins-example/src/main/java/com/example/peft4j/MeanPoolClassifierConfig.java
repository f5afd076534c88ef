package com.example.peft4j;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;

/**
 * The validated config of {@code mean-pool-classifier}.
 *
 * @param numLabels number of classes, at least 2
 * @param dropout dropout before the classifier, in [0, 1)
 */
public record MeanPoolClassifierConfig(int numLabels, double dropout) {
    public static MeanPoolClassifierConfig from(Config section) {
        ConfigReader r = new ConfigReader(section, "");
        int numLabels = r.intValue("num-labels", 2, 100_000);
        double dropout = r.doubleValue("dropout", 0, true, 1, false);
        r.finish();
        return new MeanPoolClassifierConfig(numLabels, dropout);
    }
}
