package com.example.peft4j;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.TensorFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What {@link LayerNormTuningFactory} did: the norm tensors it made trainable. Saved as one safetensors file. */
final class LayerNormTuningAdaptation implements Adaptation {
    static final String FILE = "layernorm_tuning.safetensors";

    private final LayerNormTuningConfig config;
    private final List<String> targeted;
    private final Map<String, Parameter> trainable;
    private final Map<Parameter, Boolean> previous;

    LayerNormTuningAdaptation(LayerNormTuningConfig config, List<String> targeted, Map<String, Parameter> trainable,
            Map<Parameter, Boolean> previous) {
        this.config = config;
        this.targeted = targeted;
        this.trainable = Collections.unmodifiableMap(new LinkedHashMap<>(trainable));
        this.previous = previous;
    }

    @Override
    public String method() {
        return LayerNormTuningFactory.NAME;
    }

    @Override
    public List<String> targetedModules() {
        return targeted;
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        return trainable;
    }

    @Override
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        trainable.forEach((name, p) -> out.put(name, p.value()));
        return out;
    }

    @Override
    public void loadStateDict(Map<String, NDArray> state) {
        if (!state.keySet().equals(trainable.keySet())) {
            throw new Peft4jException(method() + ": state has tensors " + state.keySet() + ", expected exactly " + trainable.keySet());
        }
        for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
            NDArray value = state.get(e.getKey());
            if (!value.getShape().equals(e.getValue().shape())) {
                throw new Peft4jException(method() + ": tensor " + e.getKey() + " has shape " + value.getShape() + ", expected "
                        + e.getValue().shape());
            }
        }
        for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
            NDArray current = e.getValue().value();
            // a torch-owned copy in the parameter's manager, of the parameter's type
            NDArray copy = state.get(e.getKey()).toType(current.getDataType(), true);
            copy.attach(current.getManager());
            e.getValue().setValue(copy);
        }
    }

    @Override
    public void save(Path directory, TensorFiles files) {
        try {
            Files.createDirectories(directory);
        } catch (java.io.IOException e) {
            throw new Peft4jException("cannot create " + directory + ": " + e.getMessage(), e);
        }
        files.write(directory.resolve(FILE), stateDict(),
                Map.of("method", method(), "include-bias", String.valueOf(config.includeBias()), "layers", config.layers().toString()));
    }

    @Override
    public void load(Path directory, TensorFiles files) {
        Path file = directory.resolve(FILE);
        NDManager manager = trainable.values().iterator().next().value().getManager().newSubManager();
        try (manager) {
            loadStateDict(files.read(file, manager));
        }
    }

    /** Restores every parameter's trainable flag as it was before {@code apply}. */
    @Override
    public void unload() {
        previous.forEach(Parameter::setTrainable);
    }
}
