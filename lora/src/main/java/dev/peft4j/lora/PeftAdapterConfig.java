package dev.peft4j.lora;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.lora.LoraConfig.ModuleSelector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * HF PEFT's {@code adapter_config.json} for LoRA, both ways, with PEFT's field names ({@code peft_type}
 * "LORA", {@code r}, {@code lora_alpha}, {@code target_modules}, ...). Fields PEFT has but peft4j does not
 * implement are written with PEFT's neutral defaults, and rejected on read when set to anything else.
 */
public final class PeftAdapterConfig {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private static final Gson GSON = new GsonBuilder().serializeNulls().setPrettyPrinting().disableHtmlEscaping().create();

    private PeftAdapterConfig() {}

    /**
     * The JSON PEFT would write for {@code config}. {@code resolvedTargets} replaces {@code all-linear}
     * (PEFT saves the expanded module set); {@code fanInFanOut} is the layout of the adapted modules.
     */
    public static JsonObject toJson(LoraConfig config, List<String> resolvedTargets, boolean fanInFanOut) {
        JsonObject o = new JsonObject();
        o.add("task_type", nullable(config.taskType()));
        o.addProperty("peft_type", "LORA");
        o.add("auto_mapping", null);
        o.add("base_model_name_or_path", nullable(config.baseModelNameOrPath()));
        o.add("revision", null);
        o.addProperty("inference_mode", true);
        o.addProperty("r", config.r());
        ModuleSelector targets = config.targetModules();
        o.add("target_modules", targets == null || targets.isAllLinear() ? strings(resolvedTargets) : selector(targets));
        o.add("exclude_modules", config.excludeModules() == null ? null : selector(config.excludeModules()));
        o.add("lora_alpha", number(config.alpha()));
        o.add("lora_dropout", new JsonPrimitive(config.dropout()));
        o.addProperty("fan_in_fan_out", fanInFanOut);
        o.addProperty("bias", config.bias().peftName());
        o.addProperty("use_rslora", config.useRslora());
        o.add("modules_to_save", config.modulesToSave().isEmpty() ? null : strings(config.modulesToSave()));
        o.add("init_lora_weights", config.init() == LoraConfig.Init.GAUSSIAN ? new JsonPrimitive("gaussian") : new JsonPrimitive(true));
        JsonArray layers = null;
        if (config.layersToTransform() != null) {
            layers = new JsonArray();
            for (int i : config.layersToTransform()) {
                layers.add(i);
            }
        }
        o.add("layers_to_transform", layers);
        o.add("layers_pattern", config.layersPattern() == null ? null : strings(config.layersPattern()));
        JsonObject rank = new JsonObject();
        config.rankPattern().forEach(rank::addProperty);
        o.add("rank_pattern", rank);
        JsonObject alpha = new JsonObject();
        config.alphaPattern().forEach((k, v) -> alpha.add(k, number(v)));
        o.add("alpha_pattern", alpha);
        o.add("megatron_config", null);
        o.addProperty("megatron_core", "megatron.core");
        o.add("loftq_config", new JsonObject());
        o.addProperty("use_dora", config.useDora());
        o.add("layer_replication", null);
        o.addProperty("lora_bias", false);
        return o;
    }

    public static void write(Path directory, LoraConfig config, List<String> resolvedTargets, boolean fanInFanOut) {
        Path file = directory.resolve(CONFIG_FILE);
        try {
            Files.createDirectories(directory);
            // not createTempFile: its 0600 mode would survive the rename; a plain new file gets the user's umask
            Path tmp = directory.resolve("." + CONFIG_FILE + ".tmp-" + Long.toUnsignedString(System.nanoTime(), 36));
            Files.writeString(tmp, GSON.toJson(toJson(config, resolvedTargets, fanInFanOut)) + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new Peft4jException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads a PEFT LoRA {@code adapter_config.json} into a config named {@code adapterName}. */
    public static LoraConfig read(Path directory, String adapterName) {
        Path file = directory.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException("no " + CONFIG_FILE + " in " + directory + " (expected a PEFT adapter directory)");
        }
        JsonObject o;
        try {
            o = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException | JsonParseException | IllegalStateException e) {
            throw new Peft4jException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return fromJson(o, file.toString(), adapterName);
    }

    static LoraConfig fromJson(JsonObject o, String source, String adapterName) {
        String peftType = string(o, "peft_type", source);
        if (!"LORA".equals(peftType)) {
            throw new Peft4jException(source + ": peft_type is '" + peftType + "', expected 'LORA'");
        }
        rejectSet(o, source, "lora_bias", "false");
        rejectSet(o, source, "layer_replication", "null");
        rejectSet(o, source, "target_parameters", "null");
        rejectSet(o, source, "trainable_token_indices", "null");
        rejectSet(o, source, "use_qalora", "false");
        LoraConfig.Init init = LoraConfig.Init.KAIMING;
        JsonElement initValue = o.get("init_lora_weights");
        if (initValue != null && initValue.isJsonPrimitive() && initValue.getAsJsonPrimitive().isString()) {
            String s = initValue.getAsString();
            if (!s.equalsIgnoreCase("gaussian")) {
                throw new Peft4jException(source + ": init_lora_weights is '" + s + "', expected true, false or 'gaussian' (other initialisations are not supported)");
            }
            init = LoraConfig.Init.GAUSSIAN;
        }
        try {
            return LoraConfig.builder()
                    .adapterName(adapterName)
                    .r(integer(o, "r", source))
                    .alpha(o.has("lora_alpha") && !o.get("lora_alpha").isJsonNull() ? o.get("lora_alpha").getAsDouble() : 8)
                    .dropout(o.has("lora_dropout") && !o.get("lora_dropout").isJsonNull() ? o.get("lora_dropout").getAsDouble() : 0)
                    .targetModules(selector(o, "target_modules", source))
                    .excludeModules(selector(o, "exclude_modules", source))
                    .layersToTransform(ints(o, "layers_to_transform", source))
                    .layersPattern(stringsOrString(o, "layers_pattern", source))
                    .rankPattern(intMap(o, "rank_pattern", source))
                    .alphaPattern(doubleMap(o, "alpha_pattern", source))
                    .bias(LoraConfig.Bias.fromPeft(o.has("bias") && !o.get("bias").isJsonNull() ? o.get("bias").getAsString() : "none"))
                    .init(init)
                    .useRslora(bool(o, "use_rslora"))
                    .useDora(bool(o, "use_dora"))
                    .modulesToSave(stringsOrString(o, "modules_to_save", source))
                    .fanInFanOut(null) // each module's own storage decides, as PEFT forces it for Conv1D
                    .baseModelNameOrPath(optionalString(o, "base_model_name_or_path"))
                    .taskType(optionalString(o, "task_type"))
                    .build();
        } catch (Peft4jException e) {
            throw new Peft4jException(source + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new Peft4jException(source + ": invalid adapter config: " + e, e);
        }
    }

    private static void rejectSet(JsonObject o, String source, String key, String neutral) {
        JsonElement v = o.get(key);
        if (v == null || v.isJsonNull() || v.toString().equals(neutral)) {
            return;
        }
        throw new Peft4jException(source + ": " + key + " is " + v + ", which peft4j does not support (expected " + neutral + ")");
    }

    private static JsonElement nullable(String s) {
        return s == null ? null : new JsonPrimitive(s);
    }

    private static JsonPrimitive number(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e9 ? new JsonPrimitive((long) d) : new JsonPrimitive(d);
    }

    private static JsonArray strings(List<String> values) {
        JsonArray a = new JsonArray();
        values.forEach(a::add);
        return a;
    }

    private static JsonElement selector(ModuleSelector s) {
        return s.isRegex() ? new JsonPrimitive(s.regex()) : strings(s.names());
    }

    private static String string(JsonObject o, String key, String source) {
        JsonElement v = o.get(key);
        if (v == null || !v.isJsonPrimitive()) {
            throw new Peft4jException(source + ": field \"" + key + "\" is " + v + ", expected a string");
        }
        return v.getAsString();
    }

    private static String optionalString(JsonObject o, String key) {
        JsonElement v = o.get(key);
        return v == null || v.isJsonNull() ? null : v.getAsString();
    }

    private static int integer(JsonObject o, String key, String source) {
        JsonElement v = o.get(key);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) {
            throw new Peft4jException(source + ": field \"" + key + "\" is " + v + ", expected an integer");
        }
        return v.getAsInt();
    }

    private static boolean bool(JsonObject o, String key) {
        JsonElement v = o.get(key);
        return v != null && !v.isJsonNull() && v.getAsBoolean();
    }

    private static ModuleSelector selector(JsonObject o, String key, String source) {
        JsonElement v = o.get(key);
        if (v == null || v.isJsonNull()) {
            return null;
        }
        if (v.isJsonPrimitive()) {
            return ModuleSelector.regex(v.getAsString());
        }
        return ModuleSelector.names(stringsOrString(o, key, source));
    }

    private static List<String> stringsOrString(JsonObject o, String key, String source) {
        JsonElement v = o.get(key);
        if (v == null || v.isJsonNull()) {
            return null;
        }
        if (v.isJsonPrimitive()) {
            return List.of(v.getAsString());
        }
        if (!v.isJsonArray()) {
            throw new Peft4jException(source + ": field \"" + key + "\" is " + v + ", expected a list of strings");
        }
        List<String> out = new ArrayList<>();
        v.getAsJsonArray().forEach(e -> out.add(e.getAsString()));
        return out;
    }

    private static List<Integer> ints(JsonObject o, String key, String source) {
        JsonElement v = o.get(key);
        if (v == null || v.isJsonNull()) {
            return null;
        }
        if (v.isJsonPrimitive()) {
            return List.of(v.getAsInt());
        }
        if (!v.isJsonArray()) {
            throw new Peft4jException(source + ": field \"" + key + "\" is " + v + ", expected a list of integers");
        }
        List<Integer> out = new ArrayList<>();
        v.getAsJsonArray().forEach(e -> out.add(e.getAsInt()));
        return out;
    }

    private static Map<String, Integer> intMap(JsonObject o, String key, String source) {
        Map<String, Integer> out = new LinkedHashMap<>();
        JsonElement v = o.get(key);
        if (v != null && v.isJsonObject()) {
            v.getAsJsonObject().entrySet().forEach(e -> out.put(e.getKey(), e.getValue().getAsInt()));
        }
        return out;
    }

    private static Map<String, Double> doubleMap(JsonObject o, String key, String source) {
        Map<String, Double> out = new LinkedHashMap<>();
        JsonElement v = o.get(key);
        if (v != null && v.isJsonObject()) {
            v.getAsJsonObject().entrySet().forEach(e -> out.put(e.getKey(), e.getValue().getAsDouble()));
        }
        return out;
    }
}
