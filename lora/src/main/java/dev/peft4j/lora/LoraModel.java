package dev.peft4j.lora;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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
    static Map<String, LoraLinear.AdapterSpec> specs(LoraConfig config, List<String> paths) {
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
        LoraWeightedCombination.add(this, adapters, weights, newName, combination);
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

    /** The module paths adapter {@code adapter} wraps (package-private: the helpers' view). */
    List<String> targetsOf(String adapter) {
        return targets.get(adapter);
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
            out.put(LoraKeys.loraA(path), lora.loraA(adapter).weight());
            out.put(LoraKeys.loraB(path), lora.loraB(adapter).weight());
            if (lora.spec(adapter).dora()) {
                out.put(LoraKeys.magnitude(path), lora.magnitude(adapter).value());
            }
        }
        biasParameters(adapter, config).forEach((name, p) -> out.put(LoraKeys.parameter(name), p.value()));
        modulesToSave.parameters(adapter).keySet().forEach(name -> out.put(LoraKeys.parameter(name), modulesToSave.value(adapter, name)));
        return out;
    }

    /** The base biases {@code bias = all | lora_only} trains, by full name (modules to save excluded). */
    private Map<String, Parameter> biasParameters(String adapter, LoraConfig config) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        if (config.bias() == LoraConfig.Bias.ALL) {
            Set<String> saved = modulesToSave.parameters(adapter).keySet();
            root.namedParameters().forEach((name, p) -> {
                if ((name.equals("bias") || name.endsWith(".bias")) && !saved.contains(name) && !LoraKeys.isAdapterInternal(name)) {
                    out.put(name, p);
                }
            });
        } else if (config.bias() == LoraConfig.Bias.LORA_ONLY) {
            for (String path : targets.get(adapter)) {
                Linear base = ((LoraLinear) root.find(path)).baseLayer();
                if (base.hasBias()) {
                    out.put(LoraKeys.baseLayerBias(path), base.parameter("bias"));
                }
            }
        }
        return out;
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
        LoraAdapterFiles.validate(expected, state, source);
        LoraConfig config = configs.get(adapter);
        for (Map.Entry<String, NDArray> e : state.entrySet()) {
            String key = e.getKey();
            NDArray target = current.get(key);
            NDArray value = copyInto(e.getValue(), target.getManager());
            LoraKeys.Parsed parsed = LoraKeys.parse(key);
            if (parsed.kind() == LoraKeys.Kind.PARAMETER && modulesToSave.parameters(adapter).containsKey(parsed.name())) {
                modulesToSave.setValue(adapter, parsed.name(), value);
            } else if (parsed.kind() == LoraKeys.Kind.MAGNITUDE) {
                ((LoraLinear) root.find(parsed.name())).magnitude(adapter).setValue(value);
            } else if (parsed.kind() == LoraKeys.Kind.LORA_A || parsed.kind() == LoraKeys.Kind.LORA_B) {
                LoraLinear lora = (LoraLinear) root.find(parsed.name());
                (parsed.kind() == LoraKeys.Kind.LORA_A ? lora.loraA(adapter) : lora.loraB(adapter)).parameter("weight").setValue(value);
            } else {
                biasParameters(adapter, config).get(parsed.name()).setValue(value);
            }
        }
        refreshState();
    }

    private static NDArray copyInto(NDArray value, NDManager manager) {
        NDArray f32 = value.getDataType() == DataType.FLOAT32 ? value.duplicate() : value.toType(DataType.FLOAT32, true);
        f32.attach(manager);
        return f32;
    }

    // ---- files --------------------------------------------------------------------------------

    /** Writes the active adapter as PEFT does: adapter_config.json + adapter_model.safetensors ({@link LoraAdapterFiles}). */
    @Override
    public void save(Path directory, TensorFiles files) {
        save(directory, files, requireActive());
    }

    public void save(Path directory, TensorFiles files, String adapter) {
        LoraAdapterFiles.save(this, directory, files, adapter);
    }

    /**
     * Loads weights saved by {@link #save} into the active adapter (all checked first). The directory's
     * adapter_config.json must agree with the active adapter on everything that changes the math (rank,
     * alpha, patterns, rsLoRA, DoRA, bias); a different adapter is loaded with {@link #loadAdapter}.
     */
    @Override
    public void load(Path directory, TensorFiles files) {
        LoraAdapterFiles.load(this, directory, files, requireActive());
    }

    /**
     * Adds adapter {@code adapterName} from a PEFT adapter directory. The file's tensors are checked against
     * the modules the config selects (names and shapes) before the tree changes; on any mismatch nothing is
     * applied. Becomes active if no adapter was.
     */
    public void loadAdapter(Path directory, TensorFiles files, String adapterName) {
        checkUsable();
        LoraAdapterFiles.loadAdapter(this, directory, files, adapterName);
    }

    /** The model type target defaults are looked up with. */
    String modelType() {
        return modelType;
    }

    /** Whether an adapter of that name exists. */
    boolean hasAdapter(String adapter) {
        return configs.containsKey(adapter);
    }

    // ---- internals ----------------------------------------------------------------------------

    /** Pushes active/disabled to every LoRA layer and sets exactly the active adapter's parameters trainable. */
    void refreshState() {
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

    LoraConfig requireAdapter(String adapter) {
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

    void checkUsable() {
        if (unloaded) {
            throw new Peft4jException("this LoRA model was unloaded; its adapters are gone");
        }
    }

    @Override
    public String toString() {
        return "LoraModel" + configs.keySet() + (active == null ? "" : " active=" + active) + (merged ? " merged" : "")
                + (disabled ? " disabled" : "");
    }
}
