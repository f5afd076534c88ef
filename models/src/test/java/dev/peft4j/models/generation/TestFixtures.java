package dev.peft4j.models.generation;

import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import dev.peft4j.api.model.ModelConfig;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Test-only helpers: fixture paths, configs and expected-value JSON. */
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
}
