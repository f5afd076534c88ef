package dev.peft4j.lora;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.lora.LoraConfig.ModuleSelector;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Chooses the modules an adapter targets, with HF PEFT's rules ({@code check_target_module_exists},
 * {@code _maybe_include_all_linear_layers}, {@code get_pattern_key}, {@code _set_trainable}), so that a
 * {@code target_modules} written for PEFT selects the same modules here.
 */
public final class TargetSelector {
    /** Output heads that {@code all-linear} leaves out (PEFT: the output embedding, or SEQ_CLS_HEAD_NAMES). */
    static final Set<String> OUTPUT_HEAD_NAMES = Set.of("lm_head", "classifier", "score");

    /** PEFT's default target modules per {@code model_type} (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
    static final Map<String, List<String>> DEFAULT_TARGETS = Map.ofEntries(
            Map.entry("bert", List.of("query", "value")),
            Map.entry("roberta", List.of("query", "value")),
            Map.entry("xlm-roberta", List.of("query", "value")),
            Map.entry("electra", List.of("query", "value")),
            Map.entry("distilbert", List.of("q_lin", "v_lin")),
            Map.entry("gpt2", List.of("c_attn")),
            Map.entry("llama", List.of("q_proj", "v_proj")),
            Map.entry("mistral", List.of("q_proj", "v_proj")),
            Map.entry("qwen2", List.of("q_proj", "v_proj")));

    private static final Pattern FIRST_LAYER_INDEX = Pattern.compile(".*?\\.[^.]*\\.(?<idx>\\d+)\\.");

    private TargetSelector() {}

    /**
     * The paths of the modules under {@code root} the config targets, in tree order. Modules already
     * wrapped by LoRA are matched at their own path; their internals never are.
     *
     * @param modelType the model's {@code model_type}, used when the config names no targets (may be null)
     * @throws Peft4jException when nothing matches (listing module names that exist), or a match is not a Linear
     */
    public static List<String> select(Module root, LoraConfig config, String modelType) {
        Map<String, Module> modules = candidateModules(root);
        ModuleSelector targets = resolveTargets(config, modules, modelType);
        List<String> matched = new ArrayList<>();
        List<String> notLinear = new ArrayList<>();
        for (Map.Entry<String, Module> e : modules.entrySet()) {
            if (matches(config, targets, e.getKey())) {
                if (isLinear(e.getValue())) {
                    matched.add(e.getKey());
                } else {
                    notLinear.add(e.getKey() + " (" + e.getValue().getClass().getSimpleName() + ")");
                }
            }
        }
        if (!notLinear.isEmpty()) {
            throw new Peft4jException("target-modules " + targets + " matched modules LoRA cannot adapt (only Linear modules can be targeted): "
                    + notLinear);
        }
        if (matched.isEmpty()) {
            throw new Peft4jException("target-modules " + targets
                    + (config.layersToTransform() != null ? " with layers-to-transform " + config.layersToTransform() : "")
                    + (config.excludeModules() != null ? " and exclude-modules " + config.excludeModules() : "")
                    + " matched no Linear module. " + describeExisting(modules));
        }
        return List.copyOf(matched);
    }

    /** The selector actually applied: the config's, the model type's default, or all-linear expanded to paths. */
    static ModuleSelector resolveTargets(LoraConfig config, Map<String, Module> modules, String modelType) {
        ModuleSelector targets = config.targetModules();
        if (targets == null) {
            List<String> defaults = modelType == null ? null : DEFAULT_TARGETS.get(modelType.toLowerCase(Locale.ROOT));
            if (defaults == null) {
                throw new Peft4jException("target-modules is not set and model type '" + modelType
                        + "' has no default; set target-modules. " + describeExisting(modules));
            }
            return ModuleSelector.names(defaults);
        }
        if (targets.isAllLinear()) {
            List<String> linear = new ArrayList<>();
            modules.forEach((path, m) -> {
                if (isLinear(m) && !OUTPUT_HEAD_NAMES.contains(lastComponent(path))) {
                    linear.add(path);
                }
            });
            return ModuleSelector.names(linear);
        }
        return targets;
    }

    /** PEFT's {@code check_target_module_exists} for one module path. */
    static boolean matches(LoraConfig config, ModuleSelector targets, String key) {
        ModuleSelector exclude = config.excludeModules();
        if (exclude != null && !exclude.isAllLinear() && exclude.patterns().matchesName(key)) {
            return false;
        }
        for (String m : config.modulesToSave()) {
            if (Pattern.compile("(^|.*\\.)" + m + "($|\\..*)").matcher(key).lookingAt()) {
                return false;
            }
        }
        // PEFT's check_target_module_exists: a regex must match the whole path; a list entry matches exactly or as a
        // dotted suffix (ModulePatterns' rule), and only then does layers-to-transform filter
        boolean found = targets.patterns().matchesName(key);
        if (targets.isRegex() || targets.names().contains(key)) {
            return found;
        }
        List<Integer> layers = config.layersToTransform();
        if (found && layers != null && !layers.isEmpty()) {
            Integer index = layerIndex(key, config.layersPattern());
            found = index != null && layers.contains(index);
        }
        return found;
    }

    /** PEFT's layer-index extraction: the first numbered segment after a (pattern) name, or null. */
    static Integer layerIndex(String key, List<String> layersPattern) {
        Matcher match = null;
        if (layersPattern == null || layersPattern.isEmpty()) {
            Matcher m = FIRST_LAYER_INDEX.matcher(key);
            match = m.lookingAt() ? m : null;
        } else {
            for (String pattern : layersPattern) {
                Matcher m = Pattern.compile("(?:^|.*?\\.)" + pattern + "\\.(?<idx>\\d+)\\.").matcher(key);
                if (m.lookingAt()) {
                    match = m;
                    break;
                }
            }
        }
        return match == null ? null : Integer.valueOf(match.group("idx"));
    }

    /** PEFT's {@code get_pattern_key}: the first pattern that matches a dotted suffix of {@code key}, or null. */
    static String patternKey(Collection<String> patterns, String key) {
        for (String p : patterns) {
            if (Pattern.compile("(.*\\.)?(" + p + ")$").matcher(key).lookingAt()) {
                // Python's re.match with '$' also accepts a match before a trailing newline; paths have none.
                return p;
            }
        }
        return null;
    }

    /**
     * The modules-to-save matches with PEFT's {@code _set_trainable} rule (the path ends with an entry),
     * outermost only, in tree order.
     */
    static List<String> modulesToSave(Module root, List<String> names) {
        List<String> out = new ArrayList<>();
        if (names.isEmpty()) {
            return out;
        }
        for (String path : root.namedModules().keySet()) {
            boolean insideMatched = out.stream().anyMatch(p -> path.startsWith(p + "."));
            if (!insideMatched && names.stream().anyMatch(path::endsWith)) {
                out.add(path);
            }
        }
        if (out.isEmpty()) {
            throw new Peft4jException("modules-to-save " + names + " matched no module. " + describeExisting(candidateModules(root)));
        }
        return out;
    }

    static boolean isLinear(Module m) {
        return m instanceof Linear || m instanceof LoraLinear;
    }

    /** Every module path except LoRA's own internals (base_layer, lora_A, ...). */
    static Map<String, Module> candidateModules(Module root) {
        Map<String, Module> out = new LinkedHashMap<>();
        Set<String> loraPaths = new LinkedHashSet<>();
        root.namedModules().forEach((path, m) -> {
            if (loraPaths.stream().anyMatch(p -> path.startsWith(p + "."))) {
                return;
            }
            out.put(path, m);
            if (m instanceof LoraLinear) {
                loraPaths.add(path);
            }
        });
        return out;
    }

    static String describeExisting(Map<String, Module> modules) {
        Set<String> lastNames = new LinkedHashSet<>();
        List<String> linearPaths = new ArrayList<>();
        modules.forEach((path, m) -> {
            if (isLinear(m)) {
                lastNames.add(lastComponent(path));
                linearPaths.add(path);
            }
        });
        return "Linear module names in this model: " + lastNames + "; for example "
                + linearPaths.subList(0, Math.min(4, linearPaths.size()));
    }

    static String lastComponent(String path) {
        return path.substring(path.lastIndexOf('.') + 1);
    }
}
