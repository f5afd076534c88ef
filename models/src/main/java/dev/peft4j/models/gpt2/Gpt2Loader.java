package dev.peft4j.models.gpt2;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.StateDictLoader;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Loads a GPT-2 checkpoint strictly into {@link Gpt2LMHeadModel}. Accepts both layouts HF writes:
 * {@code GPT2LMHeadModel} ({@code transformer.wte.weight}, ...) and the bare {@code GPT2Model} of the
 * original hub checkpoints ({@code wte.weight}, ..., renamed under {@code transformer.}). Skipped by
 * name: the {@code attn.bias} / {@code attn.masked_bias} causal-mask buffers and, when tied,
 * {@code lm_head.weight}.
 */
public final class Gpt2Loader {
    private static final Pattern MASK_BUFFER = Pattern.compile("(transformer\\.)?h\\.\\d+\\.attn\\.(bias|masked_bias)");

    private Gpt2Loader() {}

    public static Gpt2LMHeadModel load(Path weightsFile, ModelConfig config, Device device) {
        requireNonNull(weightsFile, "weightsFile is null");
        requireNonNull(device, "device is null");
        Gpt2Config gpt2 = Gpt2Config.from(config);
        try (SafetensorsFile file = SafetensorsFile.open(weightsFile)) {
            Set<String> skipped = new LinkedHashSet<>();
            Map<String, String> renames = new LinkedHashMap<>();
            for (String name : file.names()) {
                if (MASK_BUFFER.matcher(name).matches() || (gpt2.tieWordEmbeddings() && name.equals("lm_head.weight"))) {
                    skipped.add(name);
                } else if (!name.startsWith("transformer.") && !name.startsWith("lm_head.")) {
                    renames.put(name, "transformer." + name);
                }
            }
            Gpt2LMHeadModel model = Gpt2LMHeadModel.owning(gpt2, NDManager.newBaseManager(device));
            try {
                StateDictLoader.loadStrict(model.module(), file, renames, Set.of(), skipped);
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
            return model;
        }
    }
}
