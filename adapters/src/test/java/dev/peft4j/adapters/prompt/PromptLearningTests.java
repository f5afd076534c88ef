package dev.peft4j.adapters.prompt;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

final class PromptLearningTests {
    private PromptLearningTests() {}

    /** {@code overrides} over {@code peft4j.methods.<method>} of reference.conf. */
    static Config section(String method, String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.methods." + method));
    }
}
