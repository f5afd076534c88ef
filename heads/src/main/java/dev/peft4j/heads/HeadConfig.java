package dev.peft4j.heads;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;

/**
 * A head's config: {@code num-labels} (0 = take it from the data's label vocabulary; the host fills it
 * in), {@code pooling} (sequence heads: cls, mean, pooler, last; decoders: last or mean), {@code dropout} before the classifier, and
 * the classifier's initial weight standard deviation {@code initializer-range} (HF's 0.02).
 */
public record HeadConfig(int numLabels, Pooling pooling, float dropout, float initializerRange) {
    static HeadConfig parse(Config section, boolean pooled, boolean fixedSingleOutput) {
        ConfigReader r = new ConfigReader(section, "").allow("name");
        int numLabels = r.intValue("num-labels", 0, 1_000_000);
        Pooling pooling = Pooling.CLS;
        if (pooled) {
            String p = r.oneOf("pooling", Pooling.NAMES);
            pooling = Pooling.NAMES.contains(p) ? Pooling.of(p) : Pooling.CLS;
        }
        float dropout = (float) r.doubleValue("dropout", 0, true, 1, false);
        float range = (float) r.doubleValue("initializer-range", 0, true, 10, true);
        if (fixedSingleOutput && numLabels != 1 && numLabels != 0) {
            r.problem("num-labels", "is " + numLabels + ", expected 1 (regression predicts one value)");
        }
        r.finish();
        return new HeadConfig(fixedSingleOutput ? 1 : numLabels, pooling, dropout, range);
    }
}
