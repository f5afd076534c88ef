package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.runtime.AdapterFiles;
import dev.peft4j.runtime.config.ValidatedExperiment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code method.init-from = DIR}: the method starts from the weights of a PEFT adapter directory written by HF PEFT or by
 * peft4j. Its {@code peft_type} must be the method's ({@code LORA} for {@code lora}, ...) and every setting that shapes
 * the weights or the math must equal the experiment's (PEFT's {@code r} is {@code method.r}, {@code lora_alpha} is
 * {@code method.alpha}, ...); all mismatches are reported together, each naming the experiment key and both values.
 * Then the method's own loader checks every tensor's name and shape before anything changes.
 */
public final class InitFrom {
    /** peft_type by peft4j method name. */
    static final Map<String, String> PEFT_TYPES = Map.of("lora", "LORA", "ia3", "IA3", "layernorm-tuning", "LN_TUNING", "prefix-tuning",
            "PREFIX_TUNING", "prompt-tuning", "PROMPT_TUNING");

    /** PEFT adapter_config.json field -> method key, per peft_type. */
    static final Map<String, Map<String, String>> FIELDS = Map.of(
            "LORA", ordered("r", "r", "lora_alpha", "alpha", "use_rslora", "use-rslora", "use_dora", "use-dora", "bias", "bias",
                    "target_modules", "target-modules", "rank_pattern", "rank-pattern", "alpha_pattern", "alpha-pattern"),
            "IA3", ordered("target_modules", "target-modules", "feedforward_modules", "feedforward-modules"),
            "LN_TUNING", ordered("target_modules", "target-modules"),
            "PREFIX_TUNING", ordered("num_virtual_tokens", "num-virtual-tokens", "prefix_projection", "prefix-projection"),
            "PROMPT_TUNING", ordered("num_virtual_tokens", "num-virtual-tokens"));

    private InitFrom() {}

    /** Checks {@code directory} against the experiment's method and loads it into {@code adaptation}. */
    public static void apply(ValidatedExperiment experiment, Adaptation adaptation, Path directory, TensorFiles files) {
        requireNonNull(experiment, "experiment is null");
        requireNonNull(adaptation, "adaptation is null");
        check(experiment.config().getConfig("method"), experiment.method().name(), directory);
        try {
            adaptation.load(directory, files);
        } catch (Peft4jException e) {
            throw new Peft4jException("method.init-from " + directory + ": " + e.getMessage(), e);
        }
    }

    /** Throws naming every method key whose value differs from the adapter's. */
    static void check(Config method, String methodName, Path directory) {
        String want = PEFT_TYPES.get(methodName);
        String type = AdapterFiles.peftType(directory);
        String where = "method.init-from " + directory;
        if (want == null) {
            throw new Peft4jException(where + ": method.name is " + methodName + ", which cannot start from a PEFT adapter; init-from works with "
                    + PEFT_TYPES.keySet().stream().sorted().toList());
        }
        if (!want.equals(type)) {
            throw new Peft4jException(where + ": method.name is " + methodName + " but the adapter's peft_type is " + type
                    + " (expected " + want + ")");
        }
        JsonObject saved = read(directory.resolve("adapter_config.json"));
        List<String> problems = new ArrayList<>();
        FIELDS.get(type).forEach((field, key) -> {
            JsonElement theirs = saved.get(field);
            ConfigValue mine = method.hasPathOrNull(key) ? method.getValue(key) : null;
            if (mine == null || mine.valueType() == ConfigValueType.NULL) {
                return; // the method's default for the model type: the tensor names are checked when loading
            }
            if (!same(mine.unwrapped(), theirs)) {
                problems.add("method." + key + " is " + mine.render() + " but the adapter has " + field + " = " + (theirs == null ? "(unset)" : theirs));
            }
        });
        if (!problems.isEmpty()) {
            throw new Peft4jException(where + ": the adapter was trained with other settings: " + String.join("; ", problems)
                    + ". Set the method's keys to the adapter's to continue from it");
        }
    }

    private static boolean same(Object mine, JsonElement theirs) {
        if (theirs == null || theirs.isJsonNull()) {
            return mine instanceof Map<?, ?> m ? m.isEmpty() : mine instanceof List<?> l && l.isEmpty();
        }
        if (mine instanceof Number n) {
            return theirs.isJsonPrimitive() && theirs.getAsJsonPrimitive().isNumber() && theirs.getAsDouble() == n.doubleValue();
        }
        if (mine instanceof Boolean b) {
            return theirs.isJsonPrimitive() && theirs.getAsJsonPrimitive().isBoolean() && theirs.getAsBoolean() == b;
        }
        if (mine instanceof String s) {
            return theirs.isJsonPrimitive() && theirs.getAsString().equals(s);
        }
        if (mine instanceof List<?> list) { // PEFT saves target lists as sets (any order)
            if (!theirs.isJsonArray()) {
                return false;
            }
            Set<String> a = new HashSet<>();
            list.forEach(x -> a.add(String.valueOf(x)));
            Set<String> b = new HashSet<>();
            theirs.getAsJsonArray().forEach(x -> b.add(x.getAsString()));
            return a.equals(b);
        }
        if (mine instanceof Map<?, ?> map) {
            if (!theirs.isJsonObject()) {
                return false;
            }
            JsonObject o = theirs.getAsJsonObject();
            if (o.size() != map.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : map.entrySet()) {
                JsonElement v = o.get(String.valueOf(e.getKey()));
                if (v == null || !same(e.getValue(), v)) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    private static JsonObject read(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new Peft4jException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    private static Map<String, String> ordered(String... pairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return m;
    }
}
