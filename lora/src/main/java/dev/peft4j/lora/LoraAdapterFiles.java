package dev.peft4j.lora;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.tuner.PeftKeys;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The file side of {@link LoraModel}: PEFT adapter directories ({@code adapter_config.json} + {@code adapter_model.safetensors},
 * keys from {@link LoraKeys}) written and read, and the validate-before-apply check of loaded tensors against what an
 * adapter would hold. Split out of {@code LoraModel}, which keeps the adapter lifecycle and merging.
 */
final class LoraAdapterFiles {
    private LoraAdapterFiles() {}

    /** Writes {@code adapter} as PEFT does: adapter_config.json + adapter_model.safetensors. */
    static void save(LoraModel model, Path directory, TensorFiles files, String adapter) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        LoraConfig config = model.requireAdapter(adapter);
        boolean fanInFanOut = model.targetsOf(adapter).stream().anyMatch(p -> ((LoraLinear) model.root().find(p)).baseLayer().fanInFanOut());
        Map<String, NDArray> state = model.stateDict(adapter);
        try {
            java.nio.file.Files.createDirectories(directory);
        } catch (java.io.IOException e) {
            throw new Peft4jException("cannot create adapter directory " + directory + ": " + e.getMessage(), e);
        }
        files.write(directory.resolve(PeftAdapterConfig.WEIGHTS_FILE), state, Map.of("format", "pt"));
        PeftAdapterConfig.write(directory, config, model.targetsOf(adapter), fanInFanOut);
    }

    /**
     * Loads weights saved by {@link #save} into the active adapter (all checked first). The directory's
     * adapter_config.json must agree with the active adapter on everything that changes the math (rank,
     * alpha, patterns, rsLoRA, DoRA, bias); a different adapter is loaded with {@link #loadAdapter}.
     */
    static void load(LoraModel model, Path directory, TensorFiles files, String adapter) {
        LoraConfig mine = model.config(adapter);
        LoraConfig saved = PeftAdapterConfig.read(directory, adapter);
        Path configFile = directory.resolve(PeftAdapterConfig.CONFIG_FILE);
        checkSame(adapter, configFile, "r", saved.r(), mine.r());
        checkSame(adapter, configFile, "lora_alpha", saved.alpha(), mine.alpha());
        checkSame(adapter, configFile, "use_rslora", saved.useRslora(), mine.useRslora());
        checkSame(adapter, configFile, "use_dora", saved.useDora(), mine.useDora());
        checkSame(adapter, configFile, "rank_pattern", saved.rankPattern(), mine.rankPattern());
        checkSame(adapter, configFile, "alpha_pattern", saved.alphaPattern(), mine.alphaPattern());
        checkSame(adapter, configFile, "bias", saved.bias().peftName(), mine.bias().peftName());
        Path file = directory.resolve(PeftAdapterConfig.WEIGHTS_FILE);
        try (NDManager scratch = model.root().namedParameters().values().iterator().next().value().getManager().newSubManager()) {
            model.loadStateDict(adapter, files.read(file, scratch), file.toString());
        }
    }

    /**
     * Adds adapter {@code adapterName} from a PEFT adapter directory. The file's tensors are checked against
     * the modules the config selects (names and shapes) before the tree changes; on any mismatch nothing is
     * applied. Becomes active if no adapter was.
     */
    static void loadAdapter(LoraModel model, Path directory, TensorFiles files, String adapterName) {
        requireNonNull(files, "files is null");
        LoraConfig config = PeftAdapterConfig.read(directory, adapterName);
        if (model.hasAdapter(adapterName)) {
            throw new Peft4jException("an adapter named '" + adapterName + "' already exists; adapters: " + model.adapterNames());
        }
        Path file = directory.resolve(PeftAdapterConfig.WEIGHTS_FILE);
        NDManager owner = model.root().namedParameters().values().iterator().next().value().getManager();
        try (NDManager scratch = owner.newSubManager()) {
            Map<String, NDArray> state = files.read(file, scratch);
            List<String> paths = TargetSelector.select(model.root(), config, model.modelType());
            Map<String, Shape> expected = expectedShapes(model.root(), config, paths);
            state = rebased(expected, state);
            validate(expected, state, file.toString());
            model.addAdapter(config, 0);
            model.loadStateDict(adapterName, state, file.toString());
        }
    }

    private static void checkSame(String adapter, Path file, String field, Object saved, Object active) {
        if (!saved.equals(active)) {
            throw new Peft4jException(file + ": " + field + " is " + saved + " but the active adapter '" + adapter + "' has " + active
                    + "; load a different adapter with loadAdapter(directory, files, name)");
        }
    }

    /** The tensors an adapter with {@code config} on {@code paths} would save, computed without changing the tree. */
    private static Map<String, Shape> expectedShapes(Module root, LoraConfig config, List<String> paths) {
        Map<String, Shape> out = new LinkedHashMap<>();
        Map<String, LoraLinear.AdapterSpec> specs = LoraModel.specs(config, paths);
        for (String path : paths) {
            Module m = root.find(path);
            Linear base = m instanceof LoraLinear l ? l.baseLayer() : (Linear) m;
            int r = specs.get(path).r();
            out.put(LoraKeys.loraA(path), new Shape(r, base.inFeatures()));
            out.put(LoraKeys.loraB(path), new Shape(base.outFeatures(), r));
            if (config.useDora()) {
                out.put(LoraKeys.magnitude(path), new Shape(base.outFeatures()));
            }
        }
        List<String> savePaths = TargetSelector.modulesToSave(root, config.modulesToSave());
        Set<String> saved = new LinkedHashSet<>();
        for (String p : savePaths) {
            root.find(p).namedParameters().forEach((n, param) -> {
                out.put(LoraKeys.parameter(p + "." + n), param.shape());
                saved.add(p + "." + n);
            });
        }
        if (config.bias() == LoraConfig.Bias.ALL) {
            root.namedParameters().forEach((name, p) -> {
                if ((name.equals("bias") || name.endsWith(".bias")) && !saved.contains(name) && !LoraKeys.isAdapterInternal(name)) {
                    out.put(LoraKeys.parameter(LoraKeys.wrappedBiasName(name, paths)), p.shape());
                }
            });
        } else if (config.bias() == LoraConfig.Bias.LORA_ONLY) {
            for (String path : paths) {
                Module m = root.find(path);
                Linear base = m instanceof LoraLinear l ? l.baseLayer() : (Linear) m;
                if (base.hasBias()) {
                    out.put(LoraKeys.parameter(LoraKeys.baseLayerBias(path)), base.parameter("bias").shape());
                }
            }
        }
        return out;
    }

    /**
     * An adapter trained in HF PEFT on the bare encoder ({@code AutoModel}: {@code base_model.model.encoder...}) loaded
     * into a task model whose backbone sits under a child ({@code base_model.model.bert.encoder...}), or the reverse:
     * when no file key matches and one module prefix, added to or removed from every file key, matches them all, the
     * keys are renamed by it. Anything less than a match of every key leaves the state as it is (and validation names
     * what does not fit).
     */
    static Map<String, NDArray> rebased(Map<String, Shape> expected, Map<String, NDArray> state) {
        if (state.isEmpty() || state.keySet().stream().anyMatch(expected::containsKey)
                || !state.keySet().stream().allMatch(LoraKeys::hasPrefix)) {
            return state;
        }
        String first = state.keySet().iterator().next().substring(PeftKeys.PREFIX.length());
        for (String key : expected.keySet()) {
            if (!key.startsWith(PeftKeys.PREFIX)) {
                continue;
            }
            String e = key.substring(PeftKeys.PREFIX.length());
            java.util.function.UnaryOperator<String> rename = null;
            if (e.endsWith("." + first)) {
                String add = e.substring(0, e.length() - first.length());
                rename = k -> PeftKeys.PREFIX + add + k.substring(PeftKeys.PREFIX.length());
            } else if (first.endsWith("." + e)) {
                String drop = first.substring(0, first.length() - e.length());
                rename = k -> k.substring(PeftKeys.PREFIX.length()).startsWith(drop)
                        ? PeftKeys.PREFIX + k.substring(PeftKeys.PREFIX.length() + drop.length()) : k;
            }
            if (rename == null) {
                continue;
            }
            Map<String, NDArray> renamed = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> t : state.entrySet()) {
                renamed.put(rename.apply(t.getKey()), t.getValue());
            }
            if (renamed.size() == state.size() && expected.keySet().containsAll(renamed.keySet())) {
                return renamed;
            }
        }
        return state;
    }

    /** Every file tensor must be expected with the same shape, and every expected tensor present. */
    static void validate(Map<String, Shape> expected, Map<String, NDArray> state, String source) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : state.entrySet()) {
            Shape want = expected.get(e.getKey());
            if (want == null) {
                String key = e.getKey();
                String path = PeftKeys.name(key);
                problems.add("tensor '" + key + "' " + e.getValue().getShape() + " has no counterpart in the model (no adapted module or saved parameter '"
                        + path + "'" + (LoraKeys.hasPrefix(key) ? "" : "; keys must start with '" + PeftKeys.PREFIX + "'") + ")");
            } else if (!want.equals(e.getValue().getShape())) {
                problems.add("tensor '" + e.getKey() + "' has shape " + e.getValue().getShape() + " but the model expects " + want);
            }
        }
        for (String key : expected.keySet()) {
            if (!state.containsKey(key)) {
                problems.add("tensor '" + key + "' " + expected.get(key) + " is missing");
            }
        }
        if (!problems.isEmpty()) {
            // the first few say what is wrong; a whole model's worth of lines says nothing more
            int shown = Math.min(problems.size(), 6);
            throw new Peft4jException(source + " does not fit this model (nothing was applied): " + String.join("; ", problems.subList(0, shown))
                    + (problems.size() > shown ? "; and " + (problems.size() - shown) + " more problems of " + state.size() + " tensors in the file" : ""));
        }
    }
}
