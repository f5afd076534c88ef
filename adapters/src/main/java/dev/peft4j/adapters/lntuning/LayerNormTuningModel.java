package dev.peft4j.adapters.lntuning;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.tuner.StateDicts;
import dev.peft4j.api.tuner.ModulePatterns;
import dev.peft4j.api.tuner.PeftKeys;
import dev.peft4j.adapters.ia3.PeftIa3Files;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.TensorFiles;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LN tuning on a module tree: the targeted LayerNorm/RMSNorm modules' own parameters train, everything else is
 * frozen (the host adds the task head). PEFT trains a copy of each norm ({@code <path>.ln_tuning_layers}); peft4j
 * trains the norm itself, which computes the same, and maps the names when saving and loading: a norm parameter
 * {@code <path>.weight} is PEFT's {@code base_model.model.<path>.ln_tuning_layers.weight}. So there is nothing to
 * merge ({@link #canMerge()} is false) and the original norms are not kept (no unload), as for BitFit.
 */
public final class LayerNormTuningModel implements Adaptation {
    public static final String METHOD = "layernorm-tuning";
    public static final String KEY_PREFIX = PeftKeys.PREFIX;
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private final Module root;
    private final List<String> targets;

    private LayerNormTuningModel(Module root, List<String> targets) {
        this.root = root;
        this.targets = List.copyOf(targets);
    }

    /**
     * Selects the norms and sets exactly their parameters trainable. Checked before anything changes.
     *
     * @throws Peft4jException when a pattern matches no norm (naming the key and listing real module names), or
     *     matches a module that is not a LayerNorm/RMSNorm
     */
    public static LayerNormTuningModel create(Module root, LayerNormTuningConfig config, String modelType) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        ModulePatterns patterns = config.resolvedTargets(modelType);
        List<String> targets = patterns.selectModules(root, METHOD, "target-modules",
                m -> m.type().equals(ModuleType.LAYER_NORM) || m.type().equals(ModuleType.RMS_NORM), "LayerNorm/RMSNorm", path -> false);
        LayerNormTuningModel model = new LayerNormTuningModel(root, targets);
        Set<Parameter> train = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        targets.forEach(p -> train.addAll(root.find(p).localParameters().values()));
        for (Parameter p : root.namedParameters().values()) {
            if (p.trainable() != train.contains(p)) {
                p.setTrainable(train.contains(p));
            }
        }
        return model;
    }

    /** Loads a PEFT LN_TUNING adapter directory onto {@code root} (targets from its config). */
    public static LayerNormTuningModel fromPretrained(Module root, Path directory, TensorFiles files) {
        LayerNormTuningModel model = create(root, readConfig(directory), null);
        model.load(directory, files);
        return model;
    }

    @Override
    public String method() {
        return METHOD;
    }

    @Override
    public List<String> targetedModules() {
        return targets;
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return root.trainableParameters();
    }

    /** The norms' parameters by PEFT key. */
    private Map<String, Parameter> normParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (String path : targets) {
            root.find(path).localParameters().forEach((name, p) -> out.put(PeftKeys.key(path, "ln_tuning_layers." + name), p));
        }
        return out;
    }

    @Override
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        normParameters().forEach((k, p) -> out.put(k, p.value()));
        return out;
    }

    @Override
    public void loadStateDict(Map<String, NDArray> state) {
        loadStateDict(state, "state dict");
    }

    private void loadStateDict(Map<String, NDArray> state, String source) {
        requireNonNull(state, "state is null");
        StateDicts.load(normParameters(), state, source, "this layernorm-tuning model", " (no tuned norm parameter at that path)");
    }

    @Override
    public void save(Path directory, TensorFiles files) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        Path file = directory.resolve(CONFIG_FILE);
        String json = "{\n  \"auto_mapping\": null,\n  \"base_model_name_or_path\": null,\n  \"exclude_modules\": null,\n"
                + "  \"inference_mode\": true,\n  \"modules_to_save\": null,\n  \"peft_type\": \"LN_TUNING\",\n  \"revision\": null,\n"
                + "  \"target_modules\": " + PeftIa3Files.list(targets) + ",\n  \"task_type\": null\n}\n";
        try {
            Files.createDirectories(directory);
            Path tmp = Files.createTempFile(directory, CONFIG_FILE, ".tmp");
            Files.writeString(tmp, json, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new Peft4jException("cannot write " + file + ": " + e.getMessage(), e);
        }
        files.write(directory.resolve(WEIGHTS_FILE), stateDict(), Map.of("format", "pt"));
    }

    @Override
    public void load(Path directory, TensorFiles files) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        readConfig(directory); // peft_type must be LN_TUNING
        Path file = directory.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException("cannot load the layernorm-tuning adapter: " + file + " does not exist");
        }
        NDManager owner = normParameters().values().iterator().next().value().getManager();
        try (NDManager scratch = owner.newSubManager()) {
            loadStateDict(files.read(file, scratch), file.toString());
        }
    }

    /** Reads the target modules of a PEFT LN_TUNING {@code adapter_config.json}. */
    public static LayerNormTuningConfig readConfig(Path directory) {
        Path file = requireNonNull(directory, "directory is null").resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException(directory + ": no " + CONFIG_FILE + " (not a PEFT adapter directory)");
        }
        try {
            return readConfig(file, PeftIa3Files.parse(file));
        } catch (com.typesafe.config.ConfigException e) {
            // a value of the wrong type (peft_type a list, target_modules a number...): name the file and the key
            throw new Peft4jException(file + ": " + e.getMessage(), e);
        }
    }

    private static LayerNormTuningConfig readConfig(Path file, Config c) {
        String type = c.hasPath("peft_type") ? c.getString("peft_type") : "(missing)";
        if (!"LN_TUNING".equals(type)) {
            throw new Peft4jException(file + ": peft_type is " + type + ", expected LN_TUNING");
        }
        for (String unsupported : new String[] {"modules_to_save", "exclude_modules"}) {
            if (c.hasPath(unsupported)) {
                throw new Peft4jException(file + ": " + unsupported + " is set, which peft4j's layernorm-tuning does not support");
            }
        }
        if (!c.hasPath("target_modules")) {
            throw new Peft4jException(file + ": target_modules is not set");
        }
        if (c.getValue("target_modules").valueType() == ConfigValueType.STRING) {
            return new LayerNormTuningConfig(ModulePatterns.regex(c.getString("target_modules")));
        }
        return new LayerNormTuningConfig(new ModulePatterns(List.copyOf(new LinkedHashSet<>(c.getStringList("target_modules"))), null));
    }
}
