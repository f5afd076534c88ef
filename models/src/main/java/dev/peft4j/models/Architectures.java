package dev.peft4j.models;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.models.bert.BertLoader;
import dev.peft4j.models.gpt2.Gpt2Loader;
import dev.peft4j.models.llama.LlamaLoader;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The architectures peft4j can load, by HF {@code model_type}. To add one, add a line to the
 * static block below.
 */
public final class Architectures {
    /** Builds a model of one architecture from an HF directory whose config has been read. */
    @FunctionalInterface
    public interface Loader {
        TransformerModel load(HfModelDirectory directory, ModelConfig config, Device device);
    }

    private static final Map<String, Loader> LOADERS = new LinkedHashMap<>();

    static {
        LOADERS.put("bert", BertLoader::load);
        LOADERS.put("llama", (directory, config, device) -> LlamaLoader.load(directory.weightsFile(), config, device));
        LOADERS.put("gpt2", (directory, config, device) -> Gpt2Loader.load(directory.weightsFile(), config, device));
    }

    private Architectures() {}

    /** The loader for {@code config}'s {@code model_type}; an unknown type lists the supported ones. */
    public static Loader loader(ModelConfig config) {
        requireNonNull(config, "config is null");
        String type = config.modelType();
        Loader loader = LOADERS.get(type);
        if (loader == null) {
            throw new Peft4jException(config.source() + ": model_type \"" + type + "\" is not supported; supported are "
                    + LOADERS.keySet());
        }
        return loader;
    }

    public static Set<String> supported() {
        return Collections.unmodifiableSet(LOADERS.keySet());
    }
}
