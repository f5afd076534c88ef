package dev.peft4j.adapters.bottleneck;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.tuner.StateDicts;
import dev.peft4j.api.tuner.ModulePatterns;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.TensorFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Bottleneck adapters on a BERT-style encoder (AdapterHub's Houlsby and Pfeiffer). Each targeted residual output
 * ({@code attention.output} and/or {@code output} of every layer: modules with children {@code dense},
 * {@code dropout} and {@code LayerNorm}) is replaced by a {@link BottleneckLayer}; only the adapters train (the host
 * adds the task head). Saved as {@value #WEIGHTS_FILE} with the parameters' full names, which are AdapterHub's
 * ({@code <layer path>.adapters.default.adapter_down.0.weight}, ...), and the settings as metadata.
 */
public final class BottleneckModel implements Adaptation {
    public static final String METHOD = "bottleneck";
    public static final String ADAPTER_NAME = "default";
    public static final String WEIGHTS_FILE = "bottleneck_adapter.safetensors";

    private final Module root;
    private final BottleneckConfig config;
    private final int width;
    private final List<String> targets;
    private boolean unloaded;

    private BottleneckModel(Module root, BottleneckConfig config, int width, List<String> targets) {
        this.root = root;
        this.config = config;
        this.width = width;
        this.targets = List.copyOf(targets);
    }

    /**
     * Adds the adapters and freezes everything else; checked before the tree changes.
     *
     * @throws Peft4jException when the model has no BERT-style residual outputs, or the reduction factor does not
     *     divide the hidden size
     */
    public static BottleneckModel create(Module root, BottleneckConfig config, long seed) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        List<String> targets = new ArrayList<>();
        root.namedModules().forEach((path, m) -> {
            if (isResidualOutput(m) && (path.endsWith(".output") || path.equals("output"))) {
                boolean attention = path.endsWith("attention.output");
                if (!attention || config.architecture() == BottleneckConfig.Architecture.HOULSBY) {
                    targets.add(path);
                }
            }
        });
        if (targets.isEmpty()) {
            throw new Peft4jException("method bottleneck: the model has no BERT-style residual outputs (modules named 'output' with children "
                    + "dense, dropout and LayerNorm); bottleneck adapters support BERT-family encoders. " + ModulePatterns.describe(root));
        }
        long hidden = ((Linear) root.find(targets.get(0)).child("dense")).outFeatures();
        int width = config.bottleneckWidth(hidden);
        boolean pfeiffer = config.architecture() == BottleneckConfig.Architecture.PFEIFFER;
        for (String path : targets) {
            Linear dense = (Linear) root.find(path).child("dense");
            NDManager manager = dense.weight().getManager();
            long h = dense.outFeatures();
            Random random = new Random(seed * 31 + path.hashCode());
            float[] w = new float[Math.toIntExact(width * h)];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (random.nextGaussian() * config.initStd());
            }
            NDArray downWeight;
            try (NDArray javaBacked = manager.create(w, new Shape(width, h))) {
                downWeight = javaBacked.duplicate();
            }
            Linear down = new Linear(downWeight, manager.zeros(new Shape(width), DataType.FLOAT32), false);
            Linear up = new Linear(manager.zeros(new Shape(h, width), DataType.FLOAT32), manager.zeros(new Shape(h), DataType.FLOAT32), false);
            root.replace(path, old -> new BottleneckLayer(old, ADAPTER_NAME, down, up, pfeiffer, config.residualBeforeLn(), config.nonLinearity()));
        }
        BottleneckModel model = new BottleneckModel(root, config, width, targets);
        java.util.Set<Parameter> train = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        targets.forEach(p -> train.addAll(model.layer(p).adapter().namedParameters().values()));
        for (Parameter p : root.namedParameters().values()) {
            if (p.trainable() != train.contains(p)) {
                p.setTrainable(train.contains(p));
            }
        }
        return model;
    }

    private static boolean isResidualOutput(Module m) {
        return !(m instanceof BottleneckLayer) && m.hasChild("dense") && m.hasChild("dropout") && m.hasChild("LayerNorm")
                && m.child("dense") instanceof Linear && m.child("LayerNorm").type().equals(ModuleType.LAYER_NORM);
    }

    @Override
    public String method() {
        return METHOD;
    }

    @Override
    public List<String> targetedModules() {
        return targets;
    }

    /** The bottleneck width in use. */
    public int bottleneckSize() {
        return width;
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return root.trainableParameters();
    }

    private BottleneckLayer layer(String path) {
        return (BottleneckLayer) root.find(path);
    }

    private Map<String, Parameter> adapterParameters() {
        checkUsable();
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (String path : targets) {
            layer(path).adapter().namedParameters().forEach((n, p) -> out.put(path + ".adapters." + ADAPTER_NAME + "." + n, p));
        }
        return out;
    }

    @Override
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        adapterParameters().forEach((k, p) -> out.put(k, p.value()));
        return out;
    }

    @Override
    public void loadStateDict(Map<String, NDArray> state) {
        loadStateDict(state, "state dict");
    }

    private void loadStateDict(Map<String, NDArray> state, String source) {
        requireNonNull(state, "state is null");
        StateDicts.load(adapterParameters(), state, source, "this bottleneck model", " in this bottleneck model");
    }

    private Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", "pt");
        m.put("peft4j.method", METHOD);
        m.put("peft4j.architecture", config.architecture().name().toLowerCase(java.util.Locale.ROOT));
        m.put("peft4j.bottleneck-size", Integer.toString(width));
        m.put("peft4j.non-linearity", config.nonLinearity());
        m.put("peft4j.residual-before-ln", Boolean.toString(config.residualBeforeLn()));
        return m;
    }

    @Override
    public void save(Path directory, TensorFiles files) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        try {
            Files.createDirectories(directory);
        } catch (java.io.IOException e) {
            throw new Peft4jException("cannot create " + directory + ": " + e.getMessage(), e);
        }
        files.write(directory.resolve(WEIGHTS_FILE), stateDict(), metadata());
    }

    /** Loads what {@link #save} wrote; the file's architecture, width, non-linearity and residual placement must be this model's. */
    @Override
    public void load(Path directory, TensorFiles files) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        Path file = directory.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException("cannot load the bottleneck adapter: " + file + " does not exist");
        }
        Map<String, String> saved = files.metadata(file);
        metadata().forEach((k, v) -> {
            if (k.startsWith("peft4j.") && !v.equals(saved.get(k))) {
                throw new Peft4jException(file + ": " + k.substring("peft4j.".length()) + " is " + saved.get(k) + " but this model has " + v);
            }
        });
        NDManager owner = adapterParameters().values().iterator().next().value().getManager();
        try (NDManager scratch = owner.newSubManager()) {
            loadStateDict(files.read(file, scratch), file.toString());
        }
    }

    /** Puts the original residual outputs back and frees the adapters. */
    @Override
    public void unload() {
        checkUsable();
        for (String path : targets) {
            BottleneckLayer layer = layer(path);
            layer.adapter().namedParameters().values().forEach(p -> p.value().close());
            root.replace(path, old -> layer.original());
        }
        unloaded = true;
    }

    private void checkUsable() {
        if (unloaded) {
            throw new Peft4jException("this bottleneck model was unloaded; its adapters are gone");
        }
    }
}
