package dev.peft4j.adapters.ia3;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValueType;
import dev.peft4j.api.tuner.ModulePatterns;
import dev.peft4j.api.Peft4jException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * HF PEFT's {@code adapter_config.json} for IA3, both ways ({@code peft_type} {@code IA3}, {@code target_modules},
 * {@code feedforward_modules}, {@code fan_in_fan_out}, {@code init_ia3_weights}, {@code modules_to_save}). peft4j
 * writes the resolved module paths (as PEFT does for its default targets, it writes the names), so the file
 * selects exactly the modules that were adapted.
 */
public final class PeftIa3Files {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private PeftIa3Files() {}

    /** Whether {@code directory} holds a PEFT IA3 adapter. */
    public static boolean isIa3(Path directory) {
        Path file = directory.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            return false;
        }
        Config c = parse(file);
        return c.hasPath("peft_type") && c.getValue("peft_type").valueType() == ConfigValueType.STRING && "IA3".equals(c.getString("peft_type"));
    }

    /** Reads the targets and feed-forward modules of a PEFT IA3 {@code adapter_config.json}. */
    public static Ia3Config readConfig(Path directory) {
        Path file = requireNonNull(directory, "directory is null").resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException(directory + ": no " + CONFIG_FILE + " (not a PEFT adapter directory)");
        }
        try {
            return readConfig(file, parse(file));
        } catch (ConfigException e) {
            // a value of the wrong type (peft_type a list...): name the file and the key
            throw new Peft4jException(file + ": " + e.getMessage(), e);
        }
    }

    private static Ia3Config readConfig(Path file, Config c) {
        String type = c.hasPath("peft_type") ? c.getString("peft_type") : "(missing)";
        if (!"IA3".equals(type)) {
            throw new Peft4jException(file + ": peft_type is " + type + ", expected IA3");
        }
        if (c.hasPath("modules_to_save")) {
            throw new Peft4jException(file + ": modules_to_save is set; peft4j's ia3 does not load modules_to_save (the task head is saved by the host)");
        }
        if (c.hasPath("exclude_modules")) {
            throw new Peft4jException(file + ": exclude_modules is set, which peft4j's ia3 does not support");
        }
        ModulePatterns targets = patterns(c, file, "target_modules");
        ModulePatterns feedforward = patterns(c, file, "feedforward_modules");
        if (targets == null || feedforward == null) {
            throw new Peft4jException(file + ": target_modules and feedforward_modules must both be set");
        }
        return new Ia3Config(targets, feedforward);
    }

    private static ModulePatterns patterns(Config c, Path file, String key) {
        if (!c.hasPath(key)) {
            return null;
        }
        try {
            if (c.getValue(key).valueType() == ConfigValueType.STRING) {
                return ModulePatterns.regex(c.getString(key));
            }
            return new ModulePatterns(c.getStringList(key), null);
        } catch (ConfigException e) {
            throw new Peft4jException(file + ": " + key + " must be a list of names or a regular expression: " + e.getMessage(), e);
        }
    }

    static void writeConfig(Path directory, List<String> targets, List<String> feedforward, boolean fanInFanOut) {
        Path file = directory.resolve(CONFIG_FILE);
        StringBuilder json = new StringBuilder("{\n");
        json.append("  \"auto_mapping\": null,\n");
        json.append("  \"base_model_name_or_path\": null,\n");
        json.append("  \"exclude_modules\": null,\n");
        json.append("  \"fan_in_fan_out\": ").append(fanInFanOut).append(",\n");
        json.append("  \"feedforward_modules\": ").append(list(feedforward)).append(",\n");
        json.append("  \"inference_mode\": true,\n");
        json.append("  \"init_ia3_weights\": true,\n");
        json.append("  \"modules_to_save\": null,\n");
        json.append("  \"peft_type\": \"IA3\",\n");
        json.append("  \"revision\": null,\n");
        json.append("  \"target_modules\": ").append(list(targets)).append(",\n");
        json.append("  \"task_type\": null\n}\n");
        try {
            Files.createDirectories(directory);
            Path tmp = Files.createTempFile(directory, CONFIG_FILE, ".tmp");
            Files.writeString(tmp, json.toString(), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new Peft4jException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** A JSON array of strings (module paths: no quotes or backslashes to escape, but escaped anyway). */
    public static String list(List<String> values) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < values.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append('"').append(values.get(i).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return sb.append(']').toString();
    }

    public static Config parse(Path file) {
        try {
            return ConfigFactory.parseString(Files.readString(file, StandardCharsets.UTF_8), ConfigParseOptions.defaults().setSyntax(ConfigSyntax.JSON));
        } catch (IOException | ConfigException e) {
            throw new Peft4jException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
