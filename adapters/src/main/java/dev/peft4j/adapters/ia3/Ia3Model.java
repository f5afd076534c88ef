package dev.peft4j.adapters.ia3;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.tuner.ModulePatterns;
import dev.peft4j.api.tuner.PeftKeys;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.TensorFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * IA3 on a module tree (PEFT's {@code IA3Model} inside a {@code PeftModel}): every targeted Linear is wrapped
 * in an {@link Ia3Linear}; only the {@code ia3_l} vectors train (the host adds the task head). Saved in PEFT's
 * format: {@code adapter_model.safetensors} with keys {@code base_model.model.<path>.ia3_l} and an
 * {@code adapter_config.json} with {@code peft_type} {@code IA3} ({@link PeftIa3Files}).
 */
public final class Ia3Model implements Adaptation {
    public static final String METHOD = "ia3";
    /** The prefix PEFT puts before module paths in saved keys (PeftModel.base_model.model). */
    public static final String KEY_PREFIX = PeftKeys.PREFIX;

    private final Module root;
    private final List<String> targets;
    private final List<String> feedforward;
    private boolean merged;
    private boolean unloaded;

    private Ia3Model(Module root, List<String> targets, List<String> feedforward) {
        this.root = root;
        this.targets = List.copyOf(targets);
        this.feedforward = List.copyOf(feedforward);
    }

    /**
     * Wraps the modules {@code config} selects (defaults for {@code modelType} when unset) and freezes everything
     * else. Checked completely before the tree changes.
     *
     * @throws Peft4jException when a pattern matches no Linear module (naming the key and listing real module names)
     */
    public static Ia3Model create(Module root, Ia3Config config, String modelType) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        ModulePatterns targetPatterns = config.resolvedTargets(modelType);
        ModulePatterns feedforwardPatterns = config.resolvedFeedforward(modelType);
        List<String> targets = targetPatterns.selectModules(root, METHOD, "target-modules", m -> m instanceof Linear, "Linear",
                path -> false);
        List<String> ff = targets.stream().filter(feedforwardPatterns::matchesName).toList();
        if (ff.isEmpty() && !feedforwardPatterns.isEmpty()) {
            throw new Peft4jException("method ia3: feedforward-modules " + feedforwardPatterns + " matches none of the targeted modules "
                    + targets.subList(0, Math.min(6, targets.size())));
        }
        for (String path : targets) {
            root.replace(path, old -> new Ia3Linear((Linear) old, ff.contains(path)));
        }
        Ia3Model model = new Ia3Model(root, targets, ff);
        model.refreshTrainable();
        return model;
    }

    /** Loads a PEFT IA3 adapter directory onto {@code root} (targets and feed-forward modules from its config). */
    public static Ia3Model fromPretrained(Module root, Path directory, TensorFiles files) {
        Ia3Config config = PeftIa3Files.readConfig(directory);
        Ia3Model model = create(root, config, null);
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

    /** The targeted modules whose input is scaled. */
    public List<String> feedforwardModules() {
        return feedforward;
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return root.trainableParameters();
    }

    /** The {@code ia3_l} vectors under PEFT's keys. */
    @Override
    public Map<String, NDArray> stateDict() {
        checkUsable();
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (String path : targets) {
            out.put(PeftKeys.key(path, "ia3_l"), layer(path).scaling().value());
        }
        return out;
    }

    /** Loads {@code ia3_l} vectors (PEFT keys); every name and shape is checked before any is applied. Not while merged. */
    @Override
    public void loadStateDict(Map<String, NDArray> state) {
        loadStateDict(state, "state dict");
    }

    private void loadStateDict(Map<String, NDArray> state, String source) {
        requireNonNull(state, "state is null");
        checkUsable();
        if (merged) {
            throw new Peft4jException("cannot load IA3 weights while merged; unmerge first");
        }
        Map<String, NDArray> current = stateDict();
        List<String> problems = new ArrayList<>();
        state.forEach((key, v) -> {
            NDArray want = current.get(key);
            if (want == null) {
                problems.add("tensor '" + key + "' " + v.getShape() + " has no counterpart (no IA3 module at that path"
                        + (key.startsWith(KEY_PREFIX) ? "" : "; keys start with '" + KEY_PREFIX + "'") + ")");
            } else if (!want.getShape().equals(v.getShape())) {
                problems.add("tensor '" + key + "' has shape " + v.getShape() + " but the model expects " + want.getShape()
                        + (want.getShape().get(0) == 1 ? " (a feed-forward module)" : " (an output-scaled module)"));
            }
        });
        current.forEach((key, v) -> {
            if (!state.containsKey(key)) {
                problems.add("tensor '" + key + "' " + v.getShape() + " is missing");
            }
        });
        if (!problems.isEmpty()) {
            throw new Peft4jException(source + " does not fit this IA3 model (nothing was applied): "
                    + String.join("; ", problems.subList(0, Math.min(5, problems.size()))) + (problems.size() > 5 ? "; and " + (problems.size() - 5) + " more" : ""));
        }
        for (String path : targets) {
            Parameter p = layer(path).scaling();
            NDArray v = state.get(PeftKeys.key(path, "ia3_l"));
            NDArray copy = v.getDataType() == DataType.FLOAT32 ? v.duplicate() : v.toType(DataType.FLOAT32, true);
            copy.attach(p.value().getManager());
            p.setValue(copy);
        }
    }

    @Override
    public void save(Path directory, TensorFiles files) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        checkUsable();
        boolean fanInFanOut = targets.stream().anyMatch(p -> layer(p).baseLayer().fanInFanOut());
        PeftIa3Files.writeConfig(directory, targets, feedforward, fanInFanOut);
        files.write(directory.resolve(PeftIa3Files.WEIGHTS_FILE), stateDict(), Map.of("format", "pt"));
    }

    @Override
    public void load(Path directory, TensorFiles files) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        Path file = directory.resolve(PeftIa3Files.WEIGHTS_FILE);
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new Peft4jException("cannot load the IA3 adapter: " + file + " does not exist");
        }
        PeftIa3Files.readConfig(directory); // peft_type must be IA3
        NDManager owner = layer(targets.get(0)).scaling().value().getManager();
        try (NDManager scratch = owner.newSubManager()) {
            loadStateDict(files.read(file, scratch), file.toString());
        }
    }

    @Override
    public boolean canMerge() {
        return true;
    }

    /** Folds every scaling vector into its base weight (and bias, for output scaling); forward then runs the base layers only. */
    @Override
    public void merge() {
        checkUsable();
        if (merged) {
            return;
        }
        targets.forEach(p -> layer(p).merge());
        merged = true;
        refreshTrainable();
    }

    @Override
    public void unmerge() {
        checkUsable();
        if (!merged) {
            return;
        }
        targets.forEach(p -> layer(p).unmerge());
        merged = false;
        refreshTrainable();
    }

    /** Replaces every {@link Ia3Linear} by its base Linear as it is now (merged or not) and frees the vectors. */
    @Override
    public void unload() {
        checkUsable();
        for (String path : targets) {
            Linear base = layer(path).release();
            root.replace(path, old -> base);
        }
        unloaded = true;
    }

    public boolean isMerged() {
        return merged;
    }

    private Ia3Linear layer(String path) {
        return (Ia3Linear) root.find(path);
    }

    /** Exactly the scaling vectors train (none while merged); everything else of the tree is frozen. */
    private void refreshTrainable() {
        java.util.Set<Parameter> train = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        if (!merged) {
            targets.forEach(p -> train.add(layer(p).scaling()));
        }
        for (Parameter p : root.namedParameters().values()) {
            boolean want = train.contains(p);
            if (p.trainable() != want) {
                p.setTrainable(want);
            }
        }
    }

    private void checkUsable() {
        if (unloaded) {
            throw new Peft4jException("this IA3 model was unloaded; its vectors are gone");
        }
    }

    /** Shape of the vector on a module: {@code [1, in]} (feed-forward) or {@code [out, 1]}. */
    static Shape vectorShape(Linear base, boolean feedforward) {
        return feedforward ? new Shape(1, base.inFeatures()) : new Shape(base.outFeatures(), 1);
    }
}
