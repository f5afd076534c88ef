package dev.peft4j.models;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/** Loading and saving whole models as HF model directories. */
public final class Models {
    private Models() {}

    /**
     * Loads the model in an HF directory: {@code config.json} picks the architecture
     * ({@code model_type}), {@code model.safetensors} is loaded strictly.
     */
    public static TransformerModel load(Path hfDir, Device device) {
        requireNonNull(hfDir, "hfDir is null");
        requireNonNull(device, "device is null");
        Engines.pytorch();
        HfModelDirectory directory = HfModelDirectory.open(hfDir);
        ModelConfig config = directory.config();
        return Architectures.loader(config).load(directory, config, device);
    }

    /** As {@link #load(Path, Device)} with a device setting: {@code auto}, {@code cpu} or {@code gpu:N}. */
    public static TransformerModel load(Path hfDir, String deviceSetting) {
        return load(hfDir, Engines.device(deviceSetting));
    }

    /**
     * Writes {@code config.json} (the model's config as loaded), {@code model.safetensors} (every
     * parameter under its HF name, with {@code __metadata__ {"format": "pt"}}) and, when the model
     * was loaded from a directory that has them, copies its tokenizer files. Existing files are replaced.
     */
    public static void save(TransformerModel model, Path dir) {
        requireNonNull(model, "model is null");
        requireNonNull(dir, "dir is null");
        try {
            Files.createDirectories(dir);
            Path configFile = dir.resolve(HfModelDirectory.CONFIG);
            try (Writer w = Files.newBufferedWriter(configFile, StandardCharsets.UTF_8)) {
                HfModelDirectory.GSON.toJson(model.config().values(), w);
                w.write('\n');
            }
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : model.module().namedParameters().entrySet()) {
                tensors.put(e.getKey(), e.getValue().value());
            }
            SafetensorsWriter.write(dir.resolve(HfModelDirectory.WEIGHTS), tensors, Map.of("format", "pt"));
            Path source = sourceDirectory(model.config());
            if (source != null && !Files.isSameFile(source, dir)) {
                for (String name : HfModelDirectory.TOKENIZER_FILES) {
                    Path file = source.resolve(name);
                    if (Files.isRegularFile(file)) {
                        Files.copy(file, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        } catch (IOException e) {
            throw new Peft4jException("cannot save model to " + dir.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /** The directory the config was read from, or null when it did not come from a file. */
    private static Path sourceDirectory(ModelConfig config) {
        try {
            Path file = Path.of(config.source());
            return Files.isRegularFile(file) ? file.toAbsolutePath().getParent() : null;
        } catch (RuntimeException e) {
            return null;
        }
    }
}
