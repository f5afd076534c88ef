package dev.peft4j.runtime;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.adapters.ia3.Ia3Model;
import dev.peft4j.adapters.lntuning.LayerNormTuningModel;
import dev.peft4j.adapters.prompt.PeftPromptFiles;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.lora.LoraModel;
import dev.peft4j.lora.PeftAdapterConfig;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a PEFT adapter directory ({@code adapter_config.json} + {@code adapter_model.safetensors}, written by HF PEFT
 * or by peft4j) onto a model, whatever its method: {@code peft_type} {@code LORA} (rsLoRA, DoRA), {@code IA3},
 * {@code LN_TUNING}, {@code PREFIX_TUNING} or {@code PROMPT_TUNING}. Names and shapes are checked before anything
 * changes (each method's own loader).
 */
public final class AdapterFiles {
    private AdapterFiles() {}

    /** The adapter's {@code peft_type} ({@code LORA}, {@code IA3}, ...). */
    public static String peftType(Path directory) {
        requireNonNull(directory, "directory is null");
        Path file = directory.resolve(PeftAdapterConfig.CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException("--adapter " + directory + ": no " + PeftAdapterConfig.CONFIG_FILE
                    + " there; expected a PEFT adapter directory (a training run writes one to <run>/adapter)");
        }
        try {
            JsonObject o = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
            JsonElement type = o.get("peft_type");
            if (type == null || !type.isJsonPrimitive()) {
                throw new Peft4jException(file + ": no peft_type");
            }
            return type.getAsString();
        } catch (IOException | IllegalStateException | com.google.gson.JsonParseException e) {
            throw new Peft4jException(file + ": not a PEFT adapter config (" + e.getMessage() + ")", e);
        }
    }

    /** Loads the adapter onto {@code model}'s own tree (a bare base model: keys {@code base_model.model.<path>}). */
    public static Adaptation load(TransformerModel model, Path directory) {
        return load(model, model.module(), directory, "default");
    }

    /**
     * Loads the adapter onto {@code root} (the model's tree, or a task model's root holding it), active.
     *
     * @param adapterName the adapter's name in the tree (LoRA keeps several adapters by name)
     */
    public static Adaptation load(TransformerModel model, Module root, Path directory, String adapterName) {
        requireNonNull(model, "model is null");
        requireNonNull(root, "root is null");
        String type = peftType(directory);
        SafetensorsTensorFiles files = new SafetensorsTensorFiles();
        return switch (type) {
            case "LORA" -> LoraModel.fromPretrained(root, model.config().has("model_type") ? model.config().modelType() : null, directory,
                    files, adapterName);
            case "IA3" -> Ia3Model.fromPretrained(root, directory, files);
            case "LN_TUNING" -> LayerNormTuningModel.fromPretrained(root, directory, files);
            case "PREFIX_TUNING", "PROMPT_TUNING" -> PeftPromptFiles.load(model, root, directory, files, 0);
            default -> throw new Peft4jException(directory.resolve(PeftAdapterConfig.CONFIG_FILE) + ": peft_type " + type
                    + " is not supported; peft4j loads LORA, IA3, LN_TUNING, PREFIX_TUNING and PROMPT_TUNING adapters");
        };
    }
}
