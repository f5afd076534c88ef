package dev.peft4j.lora;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * One LoRA adapter's configuration, immutable and validated; the fields are HF PEFT's {@code LoraConfig}
 * fields ({@code r}, {@code lora_alpha}, {@code target_modules}, ...), see {@code reference.conf} for each key.
 *
 * @param adapterName name of the adapter on the model ({@code default})
 * @param r rank, &gt; 0
 * @param alpha PEFT {@code lora_alpha}, &gt; 0
 * @param dropout dropout on the LoRA branch's input, in [0, 1)
 * @param targetModules which modules to adapt; null means the model type's default
 * @param excludeModules modules never adapted, or null
 * @param layersToTransform layer indices to adapt, or null for all
 * @param layersPattern names of the layer container ({@code layer}, {@code h}), or null
 * @param rankPattern per-pattern rank overrides (PEFT key matching)
 * @param alphaPattern per-pattern alpha overrides
 * @param bias which base biases train
 * @param init initialisation of {@code lora_A}
 * @param useRslora scaling alpha / sqrt(r)
 * @param useDora weight-decomposed LoRA
 * @param modulesToSave module path suffixes trained fully and saved with the adapter
 * @param fanInFanOut null = read the layout from each Linear; else the layout every target must have
 * @param baseModelNameOrPath PEFT's {@code base_model_name_or_path}, written to adapter_config.json, or null
 * @param taskType PEFT's {@code task_type} ({@code SEQ_CLS}, {@code FEATURE_EXTRACTION}), or null
 */
public record LoraConfig(
        String adapterName,
        int r,
        double alpha,
        double dropout,
        ModuleSelector targetModules,
        ModuleSelector excludeModules,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        Bias bias,
        Init init,
        boolean useRslora,
        boolean useDora,
        List<String> modulesToSave,
        Boolean fanInFanOut,
        String baseModelNameOrPath,
        String taskType) {

    /** The value PEFT accepts for {@code target_modules} to mean every linear layer but the output head. */
    public static final String ALL_LINEAR = "all-linear";

    /** Which biases of the base model train along with the adapter (PEFT {@code bias}). */
    public enum Bias {
        NONE("none"), ALL("all"), LORA_ONLY("lora_only");

        private final String peftName;

        Bias(String peftName) {
            this.peftName = peftName;
        }

        public String peftName() {
            return peftName;
        }

        public static Bias fromPeft(String name) {
            for (Bias b : values()) {
                if (b.peftName.equals(name)) {
                    return b;
                }
            }
            throw new Peft4jException("bias is '" + name + "', expected one of [none, all, lora_only]");
        }
    }

    /** Initialisation of {@code lora_A} ({@code lora_B} always starts at zero). */
    public enum Init {
        /** PEFT's default ({@code init_lora_weights=True}): kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)). */
        KAIMING,
        /** PEFT's {@code init_lora_weights="gaussian"}: normal with std 1/r. */
        GAUSSIAN
    }

    /**
     * A PEFT module selector: either a list of names (each matches a module path exactly or as a dotted
     * suffix) or a single regular expression that must match the whole path ({@code all-linear} is a
     * special string).
     */
    public record ModuleSelector(List<String> names, String regex) {
        public ModuleSelector {
            if ((names == null) == (regex == null)) {
                throw new IllegalArgumentException("exactly one of names and regex must be given");
            }
            names = names == null ? null : List.copyOf(names);
        }

        public static ModuleSelector names(List<String> names) {
            return new ModuleSelector(names, null);
        }

        public static ModuleSelector names(String... names) {
            return new ModuleSelector(List.of(names), null);
        }

        public static ModuleSelector regex(String regex) {
            return new ModuleSelector(null, regex);
        }

        public boolean isRegex() {
            return regex != null;
        }

        public boolean isAllLinear() {
            return regex != null && regex.toLowerCase(Locale.ROOT).equals(ALL_LINEAR);
        }

        /**
         * The same selection as the shared {@link dev.peft4j.api.tuner.ModulePatterns} (one matching rule for every method:
         * exact or dotted suffix, or a full-match regex); {@code all-linear} must be expanded first.
         */
        public dev.peft4j.api.tuner.ModulePatterns patterns() {
            if (isAllLinear()) {
                throw new IllegalStateException("all-linear is expanded to module paths before matching");
            }
            return regex != null ? dev.peft4j.api.tuner.ModulePatterns.regex(regex) : new dev.peft4j.api.tuner.ModulePatterns(names, null);
        }

        @Override
        public String toString() {
            return regex != null ? "'" + regex + "'" : names.toString();
        }
    }

    public LoraConfig {
        requireNonNull(adapterName, "adapterName is null");
        requireNonNull(bias, "bias is null");
        requireNonNull(init, "init is null");
        if (adapterName.isEmpty() || adapterName.contains(".")) {
            throw new Peft4jException("adapter-name is '" + adapterName + "', expected a non-empty name without dots");
        }
        if (r <= 0) {
            throw new Peft4jException("r is " + r + ", expected a positive integer");
        }
        if (!(alpha > 0) || Double.isInfinite(alpha)) {
            throw new Peft4jException("alpha is " + alpha + ", expected a positive number");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new Peft4jException("dropout is " + dropout + ", expected a number in [0, 1)");
        }
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
        rankPattern = Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern == null ? Map.of() : rankPattern));
        alphaPattern = Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern == null ? Map.of() : alphaPattern));
        modulesToSave = modulesToSave == null ? List.of() : List.copyOf(modulesToSave);
        rankPattern.forEach((k, v) -> {
            checkPattern("rank-pattern", k);
            if (v <= 0) {
                throw new Peft4jException("rank-pattern." + k + " is " + v + ", expected a positive integer");
            }
        });
        alphaPattern.forEach((k, v) -> {
            checkPattern("alpha-pattern", k);
            if (!(v > 0)) {
                throw new Peft4jException("alpha-pattern." + k + " is " + v + ", expected a positive number");
            }
        });
        if (targetModules != null && targetModules.isRegex() && !targetModules.isAllLinear()) {
            checkPattern("target-modules", targetModules.regex());
        }
        if (excludeModules != null && excludeModules.isRegex()) {
            checkPattern("exclude-modules", excludeModules.regex());
        }
    }

    private static void checkPattern(String key, String regex) {
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new Peft4jException(key + ": '" + regex + "' is not a valid regular expression: " + e.getDescription());
        }
    }

    /** PEFT's scaling for a module with rank {@code r} and alpha {@code alpha}. */
    public double scaling(int rank, double moduleAlpha) {
        return useRslora ? moduleAlpha / Math.sqrt(rank) : moduleAlpha / rank;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.adapterName = adapterName;
        b.r = r;
        b.alpha = alpha;
        b.dropout = dropout;
        b.targetModules = targetModules;
        b.excludeModules = excludeModules;
        b.layersToTransform = layersToTransform;
        b.layersPattern = layersPattern;
        b.rankPattern = rankPattern;
        b.alphaPattern = alphaPattern;
        b.bias = bias;
        b.init = init;
        b.useRslora = useRslora;
        b.useDora = useDora;
        b.modulesToSave = modulesToSave;
        b.fanInFanOut = fanInFanOut;
        b.baseModelNameOrPath = baseModelNameOrPath;
        b.taskType = taskType;
        return b;
    }

    /** Keys of the HOCON section, all read by {@link #from(Config)}. */
    static final List<String> BIAS_CHOICES = List.of("none", "all", "lora_only");

    /**
     * Parses a {@code peft4j.methods.lora} section (defaults merged in), reporting every problem together
     * with its key and origin.
     */
    public static LoraConfig from(Config section) {
        ConfigReader reader = new ConfigReader(section, "").allow("name");
        String adapterName = reader.string("adapter-name");
        if (!adapterName.isEmpty() && (adapterName.contains(".") || adapterName.isBlank())) {
            reader.problem("adapter-name", "is '" + adapterName + "', expected a non-empty name without dots");
        }
        int r = reader.intValue("r", 1, Integer.MAX_VALUE);
        double alpha = reader.doubleValue("alpha", 0, false, Double.POSITIVE_INFINITY, false);
        double dropout = reader.doubleValue("dropout", 0, true, 1, false);
        ModuleSelector targets = selector(reader, "target-modules");
        ModuleSelector excludes = selector(reader, "exclude-modules");
        List<Integer> layers = null;
        if (!isNull(reader, "layers-to-transform")) {
            layers = reader.valueType("layers-to-transform").orElse(null) == ConfigValueType.NUMBER
                    ? List.of(reader.intValue("layers-to-transform", 0, Integer.MAX_VALUE))
                    : reader.intList("layers-to-transform");
        }
        List<String> layersPattern = null;
        if (!isNull(reader, "layers-pattern")) {
            layersPattern = reader.valueType("layers-pattern").orElse(null) == ConfigValueType.STRING
                    ? List.of(reader.string("layers-pattern"))
                    : reader.stringList("layers-pattern");
        }
        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        patternMap(reader, "rank-pattern").forEach((k, v) -> {
            if (v.valueType() == ConfigValueType.NUMBER && ((Number) v.unwrapped()).doubleValue() == Math.rint(((Number) v.unwrapped()).doubleValue())
                    && ((Number) v.unwrapped()).intValue() > 0) {
                rankPattern.put(k, ((Number) v.unwrapped()).intValue());
            } else {
                reader.problem("rank-pattern", "entry '" + k + "' is " + v.render() + ", expected a positive integer");
            }
        });
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        patternMap(reader, "alpha-pattern").forEach((k, v) -> {
            if (v.valueType() == ConfigValueType.NUMBER && ((Number) v.unwrapped()).doubleValue() > 0) {
                alphaPattern.put(k, ((Number) v.unwrapped()).doubleValue());
            } else {
                reader.problem("alpha-pattern", "entry '" + k + "' is " + v.render() + ", expected a positive number");
            }
        });
        String bias = reader.oneOf("bias", BIAS_CHOICES);
        String init = reader.oneOf("init", List.of("kaiming", "gaussian"));
        boolean rslora = reader.bool("use-rslora");
        boolean dora = reader.bool("use-dora");
        List<String> modulesToSave = isNull(reader, "modules-to-save") ? List.of() : reader.stringList("modules-to-save");
        Boolean fanInFanOut = null;
        ConfigValueType fifoType = reader.valueType("fan-in-fan-out").orElse(null);
        if (fifoType == ConfigValueType.BOOLEAN) {
            fanInFanOut = reader.bool("fan-in-fan-out");
        } else if (!"auto".equals(reader.string("fan-in-fan-out"))) {
            reader.problem("fan-in-fan-out", "is " + section.getValue("fan-in-fan-out").render() + ", expected auto, true or false");
        }
        for (String key : List.of("target-modules", "exclude-modules")) {
            ModuleSelector s = key.equals("target-modules") ? targets : excludes;
            if (s != null && s.isRegex() && !s.isAllLinear()) {
                try {
                    Pattern.compile(s.regex());
                } catch (PatternSyntaxException e) {
                    reader.problem(key, "'" + s.regex() + "' is not a valid regular expression: " + e.getDescription());
                }
            }
        }
        reader.finish();
        return new LoraConfig(adapterName, r, alpha, dropout, targets, excludes, layers, layersPattern, rankPattern,
                alphaPattern, Bias.fromPeft(bias), init.equals("gaussian") ? Init.GAUSSIAN : Init.KAIMING, rslora, dora,
                modulesToSave, fanInFanOut, null, null);
    }

    private static boolean isNull(ConfigReader reader, String key) {
        reader.has(key);
        return !reader.config().hasPathOrNull(quote(key)) || reader.config().getIsNull(quote(key));
    }

    private static String quote(String key) {
        return com.typesafe.config.ConfigUtil.joinPath(key);
    }

    private static ModuleSelector selector(ConfigReader reader, String key) {
        if (isNull(reader, key)) {
            return null;
        }
        ConfigValueType type = reader.valueType(key).orElseThrow();
        if (type == ConfigValueType.STRING) {
            String s = reader.string(key);
            if (s.isEmpty()) {
                reader.problem(key, "is an empty string, expected a list of module names or a regular expression");
                return null;
            }
            return ModuleSelector.regex(s);
        }
        List<String> names = reader.stringList(key);
        return ModuleSelector.names(names);
    }

    /** A pattern map with keys as written (quoted keys may contain dots; unquoted dotted keys are re-joined). */
    private static Map<String, ConfigValue> patternMap(ConfigReader reader, String key) {
        Map<String, ConfigValue> out = new LinkedHashMap<>();
        if (isNull(reader, key)) {
            return out;
        }
        if (reader.valueType(key).orElseThrow() != ConfigValueType.OBJECT) {
            reader.section(key); // records the type problem
            return out;
        }
        flatten("", (ConfigObject) reader.config().getValue(quote(key)), out);
        return out;
    }

    private static void flatten(String prefix, ConfigObject object, Map<String, ConfigValue> out) {
        for (Map.Entry<String, ConfigValue> e : object.entrySet()) {
            String k = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            if (e.getValue().valueType() == ConfigValueType.OBJECT) {
                flatten(k, (ConfigObject) e.getValue(), out);
            } else {
                out.put(k, e.getValue());
            }
        }
    }

    /** Programmatic construction with PEFT's defaults (r 8, alpha 8, no dropout, kaiming). */
    public static final class Builder {
        private String adapterName = "default";
        private int r = 8;
        private double alpha = 8;
        private double dropout;
        private ModuleSelector targetModules;
        private ModuleSelector excludeModules;
        private List<Integer> layersToTransform;
        private List<String> layersPattern;
        private Map<String, Integer> rankPattern = Map.of();
        private Map<String, Double> alphaPattern = Map.of();
        private Bias bias = Bias.NONE;
        private Init init = Init.KAIMING;
        private boolean useRslora;
        private boolean useDora;
        private List<String> modulesToSave = List.of();
        private Boolean fanInFanOut;
        private String baseModelNameOrPath;
        private String taskType;

        public Builder adapterName(String v) { adapterName = v; return this; }
        public Builder r(int v) { r = v; return this; }
        public Builder alpha(double v) { alpha = v; return this; }
        public Builder dropout(double v) { dropout = v; return this; }
        public Builder targetModules(String... names) { targetModules = ModuleSelector.names(names); return this; }
        public Builder targetModules(ModuleSelector v) { targetModules = v; return this; }
        public Builder targetRegex(String regex) { targetModules = ModuleSelector.regex(regex); return this; }
        public Builder excludeModules(ModuleSelector v) { excludeModules = v; return this; }
        public Builder layersToTransform(List<Integer> v) { layersToTransform = v == null ? null : new ArrayList<>(v); return this; }
        public Builder layersPattern(List<String> v) { layersPattern = v; return this; }
        public Builder rankPattern(Map<String, Integer> v) { rankPattern = v; return this; }
        public Builder alphaPattern(Map<String, Double> v) { alphaPattern = v; return this; }
        public Builder bias(Bias v) { bias = v; return this; }
        public Builder init(Init v) { init = v; return this; }
        public Builder useRslora(boolean v) { useRslora = v; return this; }
        public Builder useDora(boolean v) { useDora = v; return this; }
        public Builder modulesToSave(List<String> v) { modulesToSave = v; return this; }
        public Builder fanInFanOut(Boolean v) { fanInFanOut = v; return this; }
        public Builder baseModelNameOrPath(String v) { baseModelNameOrPath = v; return this; }
        public Builder taskType(String v) { taskType = v; return this; }

        public LoraConfig build() {
            return new LoraConfig(adapterName, r, alpha, dropout, targetModules, excludeModules, layersToTransform,
                    layersPattern, rankPattern, alphaPattern, bias, init, useRslora, useDora, modulesToSave, fanInFanOut,
                    baseModelNameOrPath, taskType);
        }
    }
}
