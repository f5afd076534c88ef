package dev.peft4j.models.generation;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Test-only helpers: config and expected-value JSON, and strict weight assignment from DJL's safetensors codec. */
public final class TestFixtures {
    private TestFixtures() {}

    public static Path resource(String name) {
        return Path.of("src/test/resources").resolve(name).toAbsolutePath();
    }

    public static Map<String, Object> json(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file)) {
            return new Gson().fromJson(r, new TypeToken<LinkedHashMap<String, Object>>() {}.getType());
        }
    }

    public static ModelConfig config(Path dir) throws IOException {
        return new ModelConfig(json(dir.resolve("config.json")), dir.resolve("config.json").toString());
    }

    /** Loads every tensor of {@code file} into the parameter of the same name; names must match exactly both ways. */
    public static void loadStrict(Module root, Path file, Set<String> ignore) throws IOException {
        NDManager m = root.namedParameters().values().iterator().next().value().getManager();
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        try (InputStream in = Files.newInputStream(file)) {
            for (NDArray a : NDList.decode(m, in)) {
                tensors.put(a.getName(), a);
            }
        }
        Map<String, Parameter> params = root.namedParameters();
        Set<String> unexpected = new TreeSet<>(tensors.keySet());
        unexpected.removeAll(params.keySet());
        unexpected.removeAll(ignore);
        Set<String> missing = new TreeSet<>(params.keySet());
        missing.removeAll(tensors.keySet());
        assertThat(unexpected).as("tensors without parameter").isEmpty();
        assertThat(missing).as("parameters without tensor").isEmpty();
        params.forEach((name, p) -> {
            NDArray a = tensors.get(name);
            NDArray owned = a.duplicate();
            a.close();
            p.setValue(owned);
        });
    }
}
