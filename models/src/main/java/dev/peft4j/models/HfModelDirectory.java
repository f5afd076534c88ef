package dev.peft4j.models;

import static java.util.Objects.requireNonNull;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.ToNumberPolicy;
import com.google.gson.reflect.TypeToken;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.models.tokenizer.HfTextTokenizer;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * An HF model directory: {@code config.json}, {@code model.safetensors} and (for text models)
 * {@code tokenizer.json}. Every accessor fails with what it looked for and where, and with what
 * the directory does hold.
 */
public final class HfModelDirectory {
    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String TOKENIZER = "tokenizer.json";
    /** Files copied along with the tokenizer when a model is saved. */
    public static final List<String> TOKENIZER_FILES = List.of(TOKENIZER, "tokenizer_config.json",
            "special_tokens_map.json", "vocab.txt");

    /** Numbers as Long when integral, else Double, so a config writes back as it was read. */
    static final Gson GSON = new GsonBuilder().setObjectToNumberStrategy(ToNumberPolicy.LONG_OR_DOUBLE)
            .serializeNulls().setPrettyPrinting().disableHtmlEscaping().create();

    private final Path dir;

    private HfModelDirectory(Path dir) {
        this.dir = dir;
    }

    /** Opens a directory; it must exist. Files are checked when they are asked for. */
    public static HfModelDirectory open(Path dir) {
        requireNonNull(dir, "dir is null");
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.exists(abs)) {
            throw new Peft4jException("model directory not found: " + abs + " does not exist (expected an HF model directory with "
                    + CONFIG + ", " + WEIGHTS + " and " + TOKENIZER + ")");
        }
        if (!Files.isDirectory(abs)) {
            throw new Peft4jException("model path " + abs + " is a file, expected an HF model directory with " + CONFIG + ", "
                    + WEIGHTS + " and " + TOKENIZER);
        }
        return new HfModelDirectory(abs);
    }

    public Path path() {
        return dir;
    }

    /** {@code config.json} as a {@link ModelConfig} whose source is the file's path. */
    public ModelConfig config() {
        Path file = require(CONFIG, "the model config");
        Map<String, Object> values;
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            values = GSON.fromJson(reader, new TypeToken<Map<String, Object>>() {}.getType());
        } catch (IOException | JsonParseException | IllegalStateException e) {
            throw new Peft4jException(file + ": not a valid JSON object (" + e.getMessage() + ")", e);
        }
        if (values == null) {
            throw new Peft4jException(file + ": empty file, expected a JSON object with \"model_type\"");
        }
        return new ModelConfig(values, file.toString());
    }

    /** {@code model.safetensors}; pickle checkpoints ({@code .bin}) are refused, never read. */
    public Path weightsFile() {
        Path file = dir.resolve(WEIGHTS);
        if (Files.isRegularFile(file)) {
            return file;
        }
        String hint = "";
        if (Files.exists(dir.resolve("model.safetensors.index.json"))) {
            hint = "; sharded checkpoints (model.safetensors.index.json) are not supported yet";
        } else if (Files.exists(dir.resolve("pytorch_model.bin"))) {
            hint = "; pytorch_model.bin is a pickle file, which peft4j never loads: convert it to safetensors";
        }
        throw new Peft4jException("no " + WEIGHTS + " (the weights) in " + dir + "; it has " + listing() + hint);
    }

    /** {@code tokenizer.json}. */
    public Path tokenizerFile() {
        return require(TOKENIZER, "the tokenizer");
    }

    public boolean hasTokenizer() {
        return Files.isRegularFile(dir.resolve(TOKENIZER));
    }

    public HfTextTokenizer tokenizer() {
        return HfTextTokenizer.open(tokenizerFile());
    }

    private Path require(String name, String what) {
        Path file = dir.resolve(name);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException("no " + name + " (" + what + ") in " + dir + "; it has " + listing());
        }
        return file;
    }

    private String listing() {
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().limit(20).toList();
            return names.isEmpty() ? "no files" : names.toString();
        } catch (IOException e) {
            return "(cannot list: " + e.getMessage() + ")";
        }
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}
