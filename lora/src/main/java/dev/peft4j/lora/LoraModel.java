package dev.peft4j.lora;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.tuner.PeftKeys;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * LoRA on a module tree: one or more named adapters on one base (PEFT's {@code LoraModel} inside a
 * {@code PeftModel}). Adding, switching, disabling and deleting adapters only touches the small adapter
 * tensors; the base weights are never reloaded or copied.
 *
 * <p>Saved files are PEFT's: {@code adapter_config.json} and {@code adapter_model.safetensors} with keys
 * {@code base_model.model.<path>.lora_A.weight}, {@code .lora_B.weight}, {@code .lora_magnitude_vector}
 * (DoRA), trained biases ({@code bias = all | lora_only}) and {@code modules_to_save} parameters
 * ({@code base_model.model.classifier.weight}).
 */
public final class LoraModel implements Adaptation {
    public static final String METHOD = "lora";
    /** The prefix PEFT puts before module paths in saved keys (PeftModel.base_model.model). */
    public static final String KEY_PREFIX = PeftKeys.PREFIX;

    private final Module root;
    private final String modelType;
    private final Map<String, LoraConfig> configs = new LinkedHashMap<>();
    private final Map<String, List<String>> targets = new LinkedHashMap<>();
    private final ModulesToSave modulesToSave;
    private String active;
    private boolean merged;
    private boolean disabled;
    private boolean unloaded;

    /** @param modelType the model's {@code model_type}, for default targets (may be null) */
    public LoraModel(Module root, String modelType) {
        this.root = requireNonNull(root, "root is null");
        this.modelType = modelType;
        this.modulesToSave = new ModulesToSave(root);
    }

    /** Wraps {@code root} with one adapter, made active (PEFT {@code get_peft_model}). */
    public static LoraModel create(Module root, LoraConfig config, String modelType, long seed) {
        LoraModel model = new LoraModel(root, modelType);
        model.addAdapter(config, seed);
        return model;
    }

    /** Loads a PEFT adapter directory onto {@code root} as adapter {@code adapterName}, active. */
    public static LoraModel fromPretrained(Module root, String modelType, Path directory, TensorFiles files, String adapterName) {
        LoraModel model = new LoraModel(root, modelType);
        model.loadAdapter(directory, files, adapterName);
        return model;
    }

    public Module root() {
        return root;
    }

    @Override
    public String method() {
        return METHOD;
    }

    public Set<String> adapterNames() {
        return Collections.unmodifiableSet(configs.keySet());
    }

    public LoraConfig config(String adapter) {
        return requireAdapter(adapter);
    }

    public String activeAdapter() {
        return active;
    }

    public boolean isMerged() {
        return merged;
    }

    // ---- adapters -----------------------------------------------------------------------------

    /**
     * Adds adapter {@code config.adapterName()} with fresh weights; it becomes active only if none was.
     * Everything is checked (targets, layouts, modules to save) before the tree changes.
     */
    public void addAdapter(LoraConfig config, long seed) {
        requireNonNull(config, "config is null");
        checkUsable();
        String name = config.adapterName();
        if (configs.containsKey(name)) {
            throw new Peft4jException("an adapter named '" + name + "' already exists; adapters: " + configs.keySet());
        }
        if (merged) {
            throw new Peft4jException("cannot add adapter '" + name + "' while adapter '" + active + "' is merged; unmerge first");
        }
        List<String> paths = TargetSelector.select(root, config, modelType);
        Map<String, LoraLinear.AdapterSpec> specs = specs(config, paths);
        List<String> savePaths = TargetSelector.modulesToSave(root, config.modulesToSave());
        for (String path : paths) {
            Module m = root.find(path);
            Linear base = m instanceof LoraLinear l ? l.baseLayer() : (Linear) m;
            if (config.fanInFanOut() != null && config.fanInFanOut() != base.fanInFanOut()) {
                throw new Peft4jException("fan-in-fan-out is " + config.fanInFanOut() + " but module '" + path + "' stores its weight "
                        + (base.fanInFanOut() ? "[in, out] (Conv1D)" : "[out, in]") + "; use fan-in-fan-out = auto");
            }
        }
        for (String path : paths) {
            Module m = root.find(path);
            LoraLinear lora = m instanceof LoraLinear l ? l : (LoraLinear) wrap(path);
            LoraLinear.AdapterSpec s = specs.get(path);
            lora.addAdapter(name, s.r(), s.alpha(), s.scaling(), config.dropout(), s.dora(), config.init(),
                    LoraInit.seedFor(seed, name, path));
        }
        configs.put(name, config);
        targets.put(name, List.copyOf(paths));
        modulesToSave.register(name, savePaths);
        if (active == null) {
            setActiveAdapter(name);
        } else {
            refreshState();
        }
    }

    private Module wrap(String path) {
        root.replace(path, old -> new LoraLinear((Linear) old));
        return root.find(path);
    }

    /** Rank, alpha and scaling per targeted path (PEFT's rank_pattern / alpha_pattern lookup). */
    private static Map<String, LoraLinear.AdapterSpec> specs(LoraConfig config, List<String> paths) {
        Map<String, LoraLinear.AdapterSpec> out = new LinkedHashMap<>();
        for (String path : paths) {
            String rKey = TargetSelector.patternKey(config.rankPattern().keySet(), path);
            String aKey = TargetSelector.patternKey(config.alphaPattern().keySet(), path);
            int r = rKey == null ? config.r() : config.rankPattern().get(rKey);
            double alpha = aKey == null ? config.alpha() : config.alphaPattern().get(aKey);
            out.put(path, new LoraLinear.AdapterSpec(r, alpha, config.scaling(r, alpha), config.useDora()));
        }
        return out;
    }

    /** Makes {@code adapter} the one that runs and trains. Touches no base weight. */
    public void setActiveAdapter(String adapter) {
        requireAdapter(adapter);
        checkUsable();
        if (merged && !adapter.equals(active)) {
            throw new Peft4jException("cannot switch to adapter '" + adapter + "' while '" + active + "' is merged; unmerge first");
        }
        active = adapter;
        refreshState();
    }

    /**
     * Runs the base model alone until the returned handle is closed (PEFT's {@code disable_adapter()}
     * context). A merged adapter is unmerged for the block and merged again after.
     */
    public AdaptersDisabled disableAdapters() {
        checkUsable();
        if (disabled) {
            throw new Peft4jException("adapters are already disabled");
        }
        boolean wasMerged = merged;
        if (wasMerged) {
            unmerge();
        }
        disabled = true;
        refreshState();
        return new AdaptersDisabled(wasMerged);
    }

    /** Handle returned by {@link #disableAdapters()}; closing it re-enables the adapters. */
    public final class AdaptersDisabled implements AutoCloseable {
        private final boolean remerge;
        private boolean closed;

        private AdaptersDisabled(boolean remerge) {
            this.remerge = remerge;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            disabled = false;
            refreshState();
            if (remerge) {
                merge();
            }
        }
    }

    /** Removes an adapter and frees its tensors; if it was active, the first remaining adapter becomes active. */
    public void deleteAdapter(String adapter) {
        requireAdapter(adapter);
        checkUsable();
        if (merged && adapter.equals(active)) {
            throw new Peft4jException("adapter '" + adapter + "' is merged; unmerge before deleting it");
        }
        for (String path : targets.get(adapter)) {
            LoraLinear lora = (LoraLinear) root.find(path);
            lora.deleteAdapter(adapter);
            if (lora.adapterNames().isEmpty()) {
                root.replace(path, old -> lora.baseLayer());
            }
        }
        modulesToSave.remove(adapter);
        configs.remove(adapter);
        targets.remove(adapter);
        if (adapter.equals(active)) {
            active = configs.isEmpty() ? null : configs.keySet().iterator().next();
        }
        refreshState();
    }

    /** How {@link #addWeightedAdapter} combines adapters (PEFT's {@code combination_type}). */
    public enum Combination {
        /** Same rank: A = sum sign(w s) sqrt|w s| A_i, B = sum sqrt|w s| B_i (an approximation, as in PEFT). */
        LINEAR,
        /** Concatenated ranks: A = [w_i s_i A_i] stacked, B = [B_i] side by side; exact. */
        CAT
    }

    /**
     * PEFT's {@code add_weighted_adapter}: a new adapter {@code newName} (r = alpha = combined rank, so scaling 1
     * for plain LoRA) whose update is the weighted combination of {@code adapters}. Not for DoRA adapters.
     */
    public void addWeightedAdapter(List<String> adapters, List<Double> weights, String newName, Combination combination) {
        requireNonNull(adapters, "adapters is null");
        requireNonNull(weights, "weights is null");
        requireNonNull(combination, "combination is null");
        if (adapters.isEmpty() || adapters.size() != weights.size()) {
            throw new Peft4jException("add-weighted-adapter needs as many weights as adapters, got " + adapters + " and " + weights);
        }
        List<LoraConfig> sources = new ArrayList<>();
        for (String a : adapters) {
            LoraConfig c = requireAdapter(a);
            if (c.useDora()) {
                throw new Peft4jException("adapter '" + a + "' is a DoRA adapter; weighted combination supports plain LoRA only");
            }
            sources.add(c);
        }
        if (adapters.size() == 1) {
            combination = Combination.LINEAR;
        }
        List<Integer> ranks = sources.stream()
                .map(c -> c.rankPattern().isEmpty() ? c.r() : Math.max(c.r(), Collections.max(c.rankPattern().values()))).toList();
        int newRank;
        if (combination == Combination.LINEAR) {
            if (new LinkedHashSet<>(ranks).size() != 1 || sources.stream().anyMatch(c -> !c.rankPattern().isEmpty())) {
                throw new Peft4jException("combination 'linear' needs adapters of one rank, got ranks " + ranks + "; use 'cat'");
            }
            newRank = ranks.get(0);
        } else {
            newRank = ranks.stream().mapToInt(Integer::intValue).sum();
        }
        boolean regex = sources.get(0).targetModules() != null && sources.get(0).targetModules().isRegex()
                && !sources.get(0).targetModules().isAllLinear();
        LoraConfig.ModuleSelector newTargets;
        if (regex) {
            StringBuilder sb = new StringBuilder();
            for (LoraConfig c : sources) {
                if (c.targetModules() == null || !c.targetModules().isRegex()) {
                    throw new Peft4jException("all adapters must give target-modules the same way (all lists or all regular expressions)");
                }
                sb.append(sb.length() == 0 ? "" : "|").append('(').append(c.targetModules().regex()).append(')');
            }
            newTargets = LoraConfig.ModuleSelector.regex(sb.toString());
        } else {
            Set<String> names = new LinkedHashSet<>();
            for (String a : adapters) {
                names.addAll(targets.get(a));
            }
            newTargets = LoraConfig.ModuleSelector.names(new ArrayList<>(names));
        }
        LoraConfig newConfig = sources.get(0).toBuilder().adapterName(newName).r(newRank).alpha(newRank).targetModules(newTargets)
                .rankPattern(Map.of()).alphaPattern(Map.of()).modulesToSave(List.of()).layersToTransform(null).build();
        addAdapter(newConfig, 0);
        for (String path : targets.get(newName)) {
            LoraLinear lora = (LoraLinear) root.find(path);
            NDManager manager = lora.baseLayer().weight().getManager();
            NDArray newA;
            NDArray newB;
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray sumA = manager.zeros(lora.loraA(newName).weight().getShape(), DataType.FLOAT32);
                NDArray sumB = manager.zeros(lora.loraB(newName).weight().getShape(), DataType.FLOAT32);
                int offset = 0;
                for (int i = 0; i < adapters.size(); i++) {
                    String a = adapters.get(i);
                    if (!lora.adapterNames().contains(a)) {
                        continue;
                    }
                    double ws = weights.get(i) * lora.spec(a).scaling();
                    NDArray aw = lora.loraA(a).weight().stopGradient();
                    NDArray bw = lora.loraB(a).weight().stopGradient();
                    if (combination == Combination.LINEAR) {
                        double sq = Math.sqrt(Math.abs(ws));
                        sumA = sumA.add(aw.mul(constant(manager, ws >= 0 ? sq : -sq)));
                        sumB = sumB.add(bw.mul(constant(manager, sq)));
                    } else {
                        int r = lora.spec(a).r();
                        sumA.set(new ai.djl.ndarray.index.NDIndex(offset + ":" + (offset + r) + ", :"), aw.mul(constant(manager, ws)));
                        sumB.set(new ai.djl.ndarray.index.NDIndex(":, " + offset + ":" + (offset + r)), bw);
                        offset += r;
                    }
                }
                newA = sumA;
                newB = sumB;
                NDScope.unregister(newA, newB);
            }
            lora.loraA(newName).parameter("weight").setValue(newA);
            lora.loraB(newName).parameter("weight").setValue(newB);
        }
        refreshState();
    }

    // ---- merging ------------------------------------------------------------------------------

    @Override
    public boolean canMerge() {
        return true;
    }

    /** Folds the active adapter into the base weights in place; forward then runs the base layers only. */
    @Override
    public void merge() {
        checkUsable();
        if (active == null) {
            throw new Peft4jException("no active adapter to merge");
        }
        if (merged) {
            return;
        }
        if (disabled) {
            throw new Peft4jException("cannot merge while adapters are disabled");
        }
        for (String path : targets.get(active)) {
            ((LoraLinear) root.find(path)).merge(active);
        }
        merged = true;
        refreshState();
    }

    /** Restores the base weights exactly as before {@link #merge()} (to float rounding, about 1e-7). */
    @Override
    public void unmerge() {
        checkUsable();
        if (!merged) {
            return;
        }
        for (String path : targets.get(active)) {
            ((LoraLinear) root.find(path)).unmerge();
        }
        merged = false;
        refreshState();
    }

    /**
     * PEFT's {@code merge_and_unload}: merges the active adapter and replaces every {@link LoraLinear} by its
     * base Linear (now holding the merged weight, in its own layout). Returns the plain tree.
     */
    public Module mergeAndUnload() {
        merge();
        unload();
        return root;
    }

    /**
     * Replaces every {@link LoraLinear} by its base layer as it is now (merged or not) and frees the adapter
     * tensors. Modules to save keep the active adapter's values, as PEFT's unload does.
     */
    @Override
    public void unload() {
        checkUsable();
        Set<String> all = new LinkedHashSet<>();
        targets.values().forEach(all::addAll);
        for (String path : all) {
            LoraLinear lora = (LoraLinear) root.find(path);
            Linear base = lora.release();
            root.replace(path, old -> base);
        }
        modulesToSave.clear();
        unloaded = true;
    }

    // ---- state ------------------------------------------------------------------------------

    @Override
    public List<String> targetedModules() {
        return active == null ? List.of() : targets.get(active);
    }

    public List<String> targetedModules(String adapter) {
        requireAdapter(adapter);
        return targets.get(adapter);
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return root.trainableParameters();
    }

    /** The active adapter's tensors under PEFT's key names. */
    @Override
    public Map<String, NDArray> stateDict() {
        return stateDict(requireActive());
    }

    /** {@code adapter}'s tensors under PEFT's key names ({@code base_model.model.<path>.lora_A.weight}, ...). */
    public Map<String, NDArray> stateDict(String adapter) {
        LoraConfig config = requireAdapter(adapter);
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String path : targets.get(adapter)) {
            LoraLinear lora = (LoraLinear) root.find(path);
            out.put(loraAKey(path), lora.loraA(adapter).weight());
            out.put(loraBKey(path), lora.loraB(adapter).weight());
            if (lora.spec(adapter).dora()) {
                out.put(magnitudeKey(path), lora.magnitude(adapter).value());
            }
        }
        biasParameters(adapter, config).forEach((name, p) -> out.put(KEY_PREFIX + name, p.value()));
        modulesToSave.parameters(adapter).keySet().forEach(name -> out.put(KEY_PREFIX + name, modulesToSave.value(adapter, name)));
        return out;
    }

    // PEFT's saved names of one LoRA layer's tensors (the shared PeftKeys rule), used by stateDict and expectedShapes alike
    private static String loraAKey(String path) {
        return PeftKeys.key(path, "lora_A.weight");
    }

    private static String loraBKey(String path) {
        return PeftKeys.key(path, "lora_B.weight");
    }

    private static String magnitudeKey(String path) {
        return PeftKeys.key(path, "lora_magnitude_vector");
    }

    /** The base biases {@code bias = all | lora_only} trains, by full name (modules to save excluded). */
    private Map<String, Parameter> biasParameters(String adapter, LoraConfig config) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        if (config.bias() == LoraConfig.Bias.ALL) {
            Set<String> saved = modulesToSave.parameters(adapter).keySet();
            root.namedParameters().forEach((name, p) -> {
                if ((name.equals("bias") || name.endsWith(".bias")) && !saved.contains(name) && !isAdapterInternal(name)) {
                    out.put(name, p);
                }
            });
        } else if (config.bias() == LoraConfig.Bias.LORA_ONLY) {
            for (String path : targets.get(adapter)) {
                Linear base = ((LoraLinear) root.find(path)).baseLayer();
                if (base.hasBias()) {
                    out.put(path + ".base_layer.bias", base.parameter("bias"));
                }
            }
        }
        return out;
    }

    private static boolean isAdapterInternal(String name) {
        return name.contains(".lora_A.") || name.contains(".lora_B.") || name.contains(".lora_magnitude_vector.");
    }

    /** Loads the active adapter's tensors (PEFT keys); all checked before any is applied. */
    @Override
    public void loadStateDict(Map<String, NDArray> state) {
        loadStateDict(requireActive(), state, "state dict");
    }

    void loadStateDict(String adapter, Map<String, NDArray> state, String source) {
        requireNonNull(state, "state is null");
        Map<String, NDArray> current = stateDict(adapter);
        Map<String, Shape> expected = new LinkedHashMap<>();
        current.forEach((k, v) -> expected.put(k, v.getShape()));
        validate(expected, state, source);
        LoraConfig config = configs.get(adapter);
        for (Map.Entry<String, NDArray> e : state.entrySet()) {
            String key = e.getKey();
            NDArray target = current.get(key);
            NDArray value = copyInto(e.getValue(), target.getManager());
            String name = key.substring(KEY_PREFIX.length());
            if (modulesToSave.parameters(adapter).containsKey(name)) {
                modulesToSave.setValue(adapter, name, value);
            } else if (key.endsWith(".lora_magnitude_vector")) {
                ((LoraLinear) root.find(name.substring(0, name.length() - ".lora_magnitude_vector".length()))).magnitude(adapter).setValue(value);
            } else if (key.endsWith(".lora_A.weight") || key.endsWith(".lora_B.weight")) {
                String path = name.substring(0, name.length() - ".lora_A.weight".length());
                LoraLinear lora = (LoraLinear) root.find(path);
                (key.endsWith(".lora_A.weight") ? lora.loraA(adapter) : lora.loraB(adapter)).parameter("weight").setValue(value);
            } else {
                biasParameters(adapter, config).get(name).setValue(value);
            }
        }
        refreshState();
    }

    /** Every file tensor must be expected with the same shape, and every expected tensor present. */
    private static void validate(Map<String, Shape> expected, Map<String, NDArray> state, String source) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : state.entrySet()) {
            Shape want = expected.get(e.getKey());
            if (want == null) {
                String key = e.getKey();
                String path = key.startsWith(KEY_PREFIX) ? key.substring(KEY_PREFIX.length()) : key;
                problems.add("tensor '" + key + "' " + e.getValue().getShape() + " has no counterpart in the model (no adapted module or saved parameter '"
                        + path + "'" + (key.startsWith(KEY_PREFIX) ? "" : "; keys must start with '" + KEY_PREFIX + "'") + ")");
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
            throw new Peft4jException(source + " does not fit this model (nothing was applied): " + String.join("; ", problems));
        }
    }

    private static NDArray copyInto(NDArray value, NDManager manager) {
        NDArray f32 = value.getDataType() == DataType.FLOAT32 ? value.duplicate() : value.toType(DataType.FLOAT32, true);
        f32.attach(manager);
        return f32;
    }

    // ---- files --------------------------------------------------------------------------------

    /** Writes the active adapter as PEFT does: adapter_config.json + adapter_model.safetensors. */
    @Override
    public void save(Path directory, TensorFiles files) {
        save(directory, files, requireActive());
    }

    public void save(Path directory, TensorFiles files, String adapter) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        LoraConfig config = requireAdapter(adapter);
        boolean fanInFanOut = targets.get(adapter).stream().anyMatch(p -> ((LoraLinear) root.find(p)).baseLayer().fanInFanOut());
        Map<String, NDArray> state = stateDict(adapter);
        try {
            java.nio.file.Files.createDirectories(directory);
        } catch (java.io.IOException e) {
            throw new Peft4jException("cannot create adapter directory " + directory + ": " + e.getMessage(), e);
        }
        files.write(directory.resolve(PeftAdapterConfig.WEIGHTS_FILE), state, Map.of("format", "pt"));
        PeftAdapterConfig.write(directory, config, targets.get(adapter), fanInFanOut);
    }

    /**
     * Loads weights saved by {@link #save} into the active adapter (all checked first). The directory's
     * adapter_config.json must agree with the active adapter on everything that changes the math (rank,
     * alpha, patterns, rsLoRA, DoRA, bias); a different adapter is loaded with {@link #loadAdapter}.
     */
    @Override
    public void load(Path directory, TensorFiles files) {
        String adapter = requireActive();
        LoraConfig mine = configs.get(adapter);
        LoraConfig saved = PeftAdapterConfig.read(directory, adapter);
        Path configFile = directory.resolve(PeftAdapterConfig.CONFIG_FILE);
        checkSame(configFile, "r", saved.r(), mine.r());
        checkSame(configFile, "lora_alpha", saved.alpha(), mine.alpha());
        checkSame(configFile, "use_rslora", saved.useRslora(), mine.useRslora());
        checkSame(configFile, "use_dora", saved.useDora(), mine.useDora());
        checkSame(configFile, "rank_pattern", saved.rankPattern(), mine.rankPattern());
        checkSame(configFile, "alpha_pattern", saved.alphaPattern(), mine.alphaPattern());
        checkSame(configFile, "bias", saved.bias().peftName(), mine.bias().peftName());
        Path file = directory.resolve(PeftAdapterConfig.WEIGHTS_FILE);
        try (NDManager scratch = root.namedParameters().values().iterator().next().value().getManager().newSubManager()) {
            loadStateDict(adapter, files.read(file, scratch), file.toString());
        }
    }

    /**
     * Adds adapter {@code adapterName} from a PEFT adapter directory. The file's tensors are checked against
     * the modules the config selects (names and shapes) before the tree changes; on any mismatch nothing is
     * applied. Becomes active if no adapter was.
     */
    public void loadAdapter(Path directory, TensorFiles files, String adapterName) {
        requireNonNull(files, "files is null");
        checkUsable();
        LoraConfig config = PeftAdapterConfig.read(directory, adapterName);
        if (configs.containsKey(adapterName)) {
            throw new Peft4jException("an adapter named '" + adapterName + "' already exists; adapters: " + configs.keySet());
        }
        Path file = directory.resolve(PeftAdapterConfig.WEIGHTS_FILE);
        NDManager owner = root.namedParameters().values().iterator().next().value().getManager();
        try (NDManager scratch = owner.newSubManager()) {
            Map<String, NDArray> state = files.read(file, scratch);
            List<String> paths = TargetSelector.select(root, config, modelType);
            validate(expectedShapes(config, paths), state, file.toString());
            addAdapter(config, 0);
            loadStateDict(adapterName, state, file.toString());
        }
    }

    private void checkSame(Path file, String field, Object saved, Object active) {
        if (!saved.equals(active)) {
            throw new Peft4jException(file + ": " + field + " is " + saved + " but the active adapter '" + this.active + "' has " + active
                    + "; load a different adapter with loadAdapter(directory, files, name)");
        }
    }

    /** The tensors an adapter with {@code config} on {@code paths} would save, computed without changing the tree. */
    private Map<String, Shape> expectedShapes(LoraConfig config, List<String> paths) {
        Map<String, Shape> out = new LinkedHashMap<>();
        Map<String, LoraLinear.AdapterSpec> specs = specs(config, paths);
        for (String path : paths) {
            Module m = root.find(path);
            Linear base = m instanceof LoraLinear l ? l.baseLayer() : (Linear) m;
            int r = specs.get(path).r();
            out.put(loraAKey(path), new Shape(r, base.inFeatures()));
            out.put(loraBKey(path), new Shape(base.outFeatures(), r));
            if (config.useDora()) {
                out.put(magnitudeKey(path), new Shape(base.outFeatures()));
            }
        }
        List<String> savePaths = TargetSelector.modulesToSave(root, config.modulesToSave());
        Set<String> saved = new LinkedHashSet<>();
        for (String p : savePaths) {
            root.find(p).namedParameters().forEach((n, param) -> {
                out.put(KEY_PREFIX + p + "." + n, param.shape());
                saved.add(p + "." + n);
            });
        }
        if (config.bias() == LoraConfig.Bias.ALL) {
            root.namedParameters().forEach((name, p) -> {
                if ((name.equals("bias") || name.endsWith(".bias")) && !saved.contains(name) && !isAdapterInternal(name)) {
                    out.put(KEY_PREFIX + biasKey(name, paths), p.shape());
                }
            });
        } else if (config.bias() == LoraConfig.Bias.LORA_ONLY) {
            for (String path : paths) {
                Module m = root.find(path);
                Linear base = m instanceof LoraLinear l ? l.baseLayer() : (Linear) m;
                if (base.hasBias()) {
                    out.put(KEY_PREFIX + path + ".base_layer.bias", base.parameter("bias").shape());
                }
            }
        }
        return out;
    }

    /** A base bias's name once its module is wrapped ({@code query.bias} becomes {@code query.base_layer.bias}). */
    private static String biasKey(String name, List<String> paths) {
        String module = name.substring(0, Math.max(0, name.length() - ".bias".length()));
        return paths.contains(module) ? module + ".base_layer.bias" : name;
    }

    // ---- internals ----------------------------------------------------------------------------

    /** Pushes active/disabled to every LoRA layer and sets exactly the active adapter's parameters trainable. */
    private void refreshState() {
        Set<String> all = new LinkedHashSet<>();
        targets.values().forEach(all::addAll);
        for (String path : all) {
            LoraLinear lora = (LoraLinear) root.find(path);
            lora.setActiveAdapter(active != null && lora.adapterNames().contains(active) ? active : null);
            lora.setDisabled(disabled);
        }
        modulesToSave.activate(disabled ? null : active);
        // Only the active adapter's parameters (and what it trains beside them) require gradients. Flags are
        // compared first: a switch then costs a few JNI calls, not one per parameter of the model.
        Set<Parameter> train = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        if (active != null && !disabled && !merged) {
            for (String path : targets.get(active)) {
                LoraLinear lora = (LoraLinear) root.find(path);
                train.addAll(lora.loraA(active).localParameters().values());
                train.addAll(lora.loraB(active).localParameters().values());
                if (lora.spec(active).dora()) {
                    train.add(lora.magnitude(active));
                }
            }
            train.addAll(biasParameters(active, configs.get(active)).values());
            train.addAll(modulesToSave.parameters(active).values());
        }
        for (Parameter p : root.namedParameters().values()) {
            boolean want = train.contains(p);
            if (p.trainable() != want) {
                p.setTrainable(want);
            }
        }
    }

    private LoraConfig requireAdapter(String adapter) {
        requireNonNull(adapter, "adapter is null");
        LoraConfig c = configs.get(adapter);
        if (c == null) {
            throw new Peft4jException("no adapter named '" + adapter + "'; adapters: " + configs.keySet());
        }
        return c;
    }

    private String requireActive() {
        if (active == null) {
            throw new Peft4jException("no active adapter; adapters: " + configs.keySet());
        }
        return active;
    }

    private void checkUsable() {
        if (unloaded) {
            throw new Peft4jException("this LoRA model was unloaded; its adapters are gone");
        }
    }

    private static NDArray constant(NDManager manager, double value) {
        return manager.full(new Shape(), (float) value, DataType.FLOAT32);
    }

    @Override
    public String toString() {
        return "LoraModel" + configs.keySet() + (active == null ? "" : " active=" + active) + (merged ? " merged" : "")
                + (disabled ? " disabled" : "");
    }
}
