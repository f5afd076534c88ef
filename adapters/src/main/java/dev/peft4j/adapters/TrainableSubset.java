package dev.peft4j.adapters;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.ParameterSchedule;
import dev.peft4j.api.spi.TensorFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@link Adaptation} of a method that only chooses which of the model's own parameters train
 * ({@code full}, {@code bitfit}). Its trainable parameters are read from the tree when asked, so a
 * head the host makes trainable after {@code apply} is included. {@link #save} writes every trainable
 * tensor under its full name into {@value #WEIGHTS_FILE} (metadata: the method and its settings); with
 * nothing frozen on a task model that is a complete HF state dict. Nothing to merge: the trained
 * weights are the model's.
 */
public final class TrainableSubset implements Adaptation {
    /** The file {@link #save} writes in its directory. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** Metadata key naming the method that wrote the file. */
    public static final String METHOD_KEY = "peft4j.method";

    private final String method;
    private final Module root;
    private final Map<String, String> settings;
    private final ParameterSchedule schedule;

    /**
     * @param settings the method's settings, written as metadata ({@code peft4j.<key>})
     */
    TrainableSubset(String method, Module root, Map<String, String> settings) {
        this(method, root, settings, ParameterSchedule.none());
    }

    /** With a schedule (learning-rate groups, gradual unfreezing) for the trainer. */
    TrainableSubset(String method, Module root, Map<String, String> settings, ParameterSchedule schedule) {
        this.method = requireNonNull(method, "method is null");
        this.root = requireNonNull(root, "root is null");
        this.settings = new LinkedHashMap<>(requireNonNull(settings, "settings is null"));
        this.schedule = requireNonNull(schedule, "schedule is null");
    }

    @Override
    public ParameterSchedule parameterSchedule() {
        return schedule;
    }

    /**
     * Sets every parameter of {@code root} trainable exactly when it is in {@code trainable}; all
     * names must exist (checked before anything changes).
     */
    static void applyFlags(Module root, Set<String> trainable) {
        Map<String, Parameter> all = root.namedParameters();
        for (String name : trainable) {
            if (!all.containsKey(name)) {
                throw new IllegalArgumentException("no parameter '" + name + "'");
            }
        }
        all.forEach((name, p) -> {
            boolean want = trainable.contains(name);
            if (p.trainable() != want) {
                p.setTrainable(want);
            }
        });
    }

    @Override
    public String method() {
        return method;
    }

    /** Modules with at least one trainable parameter of their own, in tree order. */
    @Override
    public List<String> targetedModules() {
        Set<String> out = new LinkedHashSet<>();
        for (String name : trainableParameters().keySet()) {
            int dot = name.lastIndexOf('.');
            out.add(dot < 0 ? "" : name.substring(0, dot));
        }
        return List.copyOf(out);
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return root.trainableParameters();
    }

    @Override
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        trainableParameters().forEach((name, p) -> out.put(name, p.value()));
        return out;
    }

    /** Copies {@code state} into the trainable parameters in place, after checking every name and shape. */
    @Override
    public void loadStateDict(Map<String, NDArray> state) {
        loadStateDict(state, "state dict");
    }

    private void loadStateDict(Map<String, NDArray> state, String where) {
        requireNonNull(state, "state is null");
        Map<String, Parameter> params = trainableParameters();
        List<String> problems = new ArrayList<>();
        params.forEach((name, p) -> {
            NDArray s = state.get(name);
            if (s == null) {
                problems.add("tensor '" + name + "' is missing (expected shape " + p.shape() + ")");
            } else if (!s.getShape().equals(p.shape())) {
                problems.add("tensor '" + name + "' has shape " + s.getShape() + ", expected " + p.shape());
            }
        });
        for (String name : state.keySet()) {
            if (!params.containsKey(name)) {
                problems.add("tensor '" + name + "' is not a trainable parameter of this " + method + " adaptation"
                        + (root.namedParameters().containsKey(name) ? " (it is frozen here: was the method config changed?)" : ""));
            }
        }
        if (!problems.isEmpty()) {
            throw new Peft4jException(where + ": " + String.join("; ", problems.subList(0, Math.min(5, problems.size())))
                    + (problems.size() > 5 ? "; and " + (problems.size() - 5) + " more" : ""));
        }
        params.forEach((name, p) -> {
            try (NDScope ignored = new NDScope()) {
                NDArray target = p.value();
                // In place (outside any gradient collector), so whoever holds the tensor sees the new values.
                target.subi(target).addi(state.get(name).toType(target.getDataType(), false));
            }
        });
    }

    @Override
    public void save(Path directory, TensorFiles files) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new Peft4jException("cannot create " + directory + ": " + e.getMessage(), e);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", "pt");
        metadata.put(METHOD_KEY, method);
        settings.forEach((k, v) -> metadata.put("peft4j." + k, v));
        files.write(directory.resolve(WEIGHTS_FILE), stateDict(), metadata);
    }

    @Override
    public void load(Path directory, TensorFiles files) {
        requireNonNull(directory, "directory is null");
        requireNonNull(files, "files is null");
        Path file = directory.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException("cannot load the " + method + " adaptation: " + file + " does not exist");
        }
        String saved = files.metadata(file).get(METHOD_KEY);
        if (!method.equals(saved)) {
            throw new Peft4jException(file + " was written by method '" + saved + "', expected '" + method + "'");
        }
        Map<String, Parameter> params = trainableParameters();
        if (params.isEmpty()) {
            throw new Peft4jException("cannot load " + file + ": nothing is trainable in this " + method + " adaptation");
        }
        NDManager owner = params.values().iterator().next().value().getManager();
        try (NDManager temp = owner.newSubManager()) {
            loadStateDict(files.read(file, temp), file.toString());
        }
    }
}
