package dev.peft4j.adapters.lntuning;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import dev.peft4j.api.tuner.ModulePatterns;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigReader;
import java.util.List;
import java.util.Map;

/**
 * Settings of {@code method = layernorm-tuning} ({@code peft4j.methods.layernorm-tuning}), PEFT's {@code LNTuningConfig}.
 *
 * @param targetModules the norm modules that train (null: the model type's default)
 */
public record LayerNormTuningConfig(ModulePatterns targetModules) {
    /**
     * PEFT's {@code TRANSFORMERS_MODELS_TO_LNTUNING_TARGET_MODULES_MAPPING} for the model types peft4j loads, plus
     * peft4j's own default for bert and roberta ({@code LayerNorm}: every norm), for which PEFT has none.
     */
    public static final Map<String, List<String>> DEFAULT_TARGETS = Map.ofEntries(
            Map.entry("llama", List.of("input_layernorm", "post_attention_layernorm", "norm")),
            Map.entry("mistral", List.of("input_layernorm", "post_attention_layernorm", "norm")),
            Map.entry("qwen2", List.of("post_attention_layernorm")),
            Map.entry("gpt2", List.of("ln_1", "ln_2", "ln_f")),
            Map.entry("bert", List.of("LayerNorm")),
            Map.entry("roberta", List.of("LayerNorm")));

    public static LayerNormTuningConfig from(Config section) {
        ConfigReader reader = new ConfigReader(requireNonNull(section, "section is null"), "").allow("name");
        ModulePatterns targets = null;
        if (reader.valueType("target-modules").orElse(ConfigValueType.NULL) != ConfigValueType.NULL) {
            targets = ModulePatterns.read(reader, "target-modules");
            if (targets.isEmpty()) {
                reader.problem("target-modules", "is empty; use null for the model type's default");
            }
        }
        reader.finish();
        return new LayerNormTuningConfig(targets);
    }

    ModulePatterns resolvedTargets(String modelType) {
        if (targetModules != null) {
            return targetModules;
        }
        List<String> d = modelType == null ? null : DEFAULT_TARGETS.get(modelType);
        if (d == null) {
            throw new Peft4jException("method layernorm-tuning: target-modules is not set and model type '" + modelType
                    + "' has no default (defaults exist for " + DEFAULT_TARGETS.keySet() + "); set target-modules");
        }
        return new ModulePatterns(d, null);
    }
}
