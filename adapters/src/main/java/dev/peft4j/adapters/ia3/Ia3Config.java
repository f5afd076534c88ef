package dev.peft4j.adapters.ia3;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import dev.peft4j.api.tuner.ModulePatterns;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigReader;
import java.util.List;
import java.util.Map;

/**
 * Settings of {@code method = ia3} ({@code peft4j.methods.ia3}), PEFT's {@code IA3Config}.
 *
 * @param targetModules the Linear modules that get a scaling vector (null: PEFT's default for the model type)
 * @param feedforwardModules the targets whose <em>input</em> is scaled (null: PEFT's default for the model
 *     type); the other targets have their output scaled
 */
public record Ia3Config(ModulePatterns targetModules, ModulePatterns feedforwardModules) {
    /** PEFT's {@code TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING} for the model types peft4j loads. */
    public static final Map<String, List<String>> DEFAULT_TARGETS = Map.ofEntries(
            Map.entry("bert", List.of("key", "value", "output.dense")),
            Map.entry("roberta", List.of("key", "value", "output.dense")),
            Map.entry("gpt2", List.of("c_attn", "mlp.c_proj")),
            Map.entry("llama", List.of("k_proj", "v_proj", "down_proj")),
            Map.entry("mistral", List.of("k_proj", "v_proj", "down_proj")),
            Map.entry("qwen2", List.of("q_proj", "v_proj", "down_proj")));
    /** PEFT's {@code TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING} for the same types. */
    public static final Map<String, List<String>> DEFAULT_FEEDFORWARD = Map.ofEntries(
            Map.entry("bert", List.of("output.dense")),
            Map.entry("roberta", List.of("output.dense")),
            Map.entry("gpt2", List.of("mlp.c_proj")),
            Map.entry("llama", List.of("down_proj")),
            Map.entry("mistral", List.of("down_proj")),
            Map.entry("qwen2", List.of("down_proj")));

    public Ia3Config {
        if (targetModules != null && feedforwardModules != null && targetModules.names() != null && feedforwardModules.names() != null
                && !targetModules.names().containsAll(feedforwardModules.names())) {
            throw new Peft4jException("feedforward-modules " + feedforwardModules + " must be a subset of target-modules " + targetModules
                    + " (as in PEFT's IA3Config)");
        }
    }

    /** Parses a {@code peft4j.methods.ia3} section (defaults merged in). */
    public static Ia3Config from(Config section) {
        ConfigReader reader = new ConfigReader(requireNonNull(section, "section is null"), "").allow("name");
        ModulePatterns targets = optionalPatterns(reader, "target-modules");
        ModulePatterns feedforward = optionalPatterns(reader, "feedforward-modules");
        if (targets != null && feedforward != null && targets.names() != null && feedforward.names() != null
                && !targets.names().containsAll(feedforward.names())) {
            reader.problem("feedforward-modules", feedforward + " must be a subset of target-modules " + targets);
        }
        reader.finish();
        return new Ia3Config(targets, feedforward);
    }

    private static ModulePatterns optionalPatterns(ConfigReader reader, String key) {
        ConfigValueType type = reader.valueType(key).orElse(ConfigValueType.NULL);
        if (type == ConfigValueType.NULL) {
            return null;
        }
        ModulePatterns p = ModulePatterns.read(reader, key);
        if (p.isEmpty() && key.equals("target-modules")) {
            reader.problem(key, "is empty; use null for the model type's default");
        }
        return p;
    }

    /** The targets to use on a model of {@code modelType}; throws naming the key when there is no default. */
    ModulePatterns resolvedTargets(String modelType) {
        if (targetModules != null) {
            return targetModules;
        }
        List<String> d = modelType == null ? null : DEFAULT_TARGETS.get(modelType);
        if (d == null) {
            throw new Peft4jException("method ia3: target-modules is not set and model type '" + modelType
                    + "' has no IA3 default (defaults exist for " + DEFAULT_TARGETS.keySet() + "); set target-modules");
        }
        return new ModulePatterns(d, null);
    }

    ModulePatterns resolvedFeedforward(String modelType) {
        if (feedforwardModules != null) {
            return feedforwardModules;
        }
        List<String> d = modelType == null ? null : DEFAULT_FEEDFORWARD.get(modelType);
        if (d == null) {
            throw new Peft4jException("method ia3: feedforward-modules is not set and model type '" + modelType
                    + "' has no IA3 default (defaults exist for " + DEFAULT_FEEDFORWARD.keySet() + "); set feedforward-modules (may be [])");
        }
        return new ModulePatterns(d, null);
    }
}
