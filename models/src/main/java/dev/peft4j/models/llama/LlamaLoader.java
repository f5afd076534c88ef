package dev.peft4j.models.llama;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.StateDictLoader;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Loads an HF {@code LlamaForCausalLM} checkpoint strictly. Skipped by name: the rotary
 * {@code self_attn.rotary_emb.inv_freq} buffers of old checkpoints, and {@code lm_head.weight}
 * when the embeddings are tied (the head computes with {@code model.embed_tokens.weight}).
 * Anything else the tree has no parameter for, a missing or a mis-shaped tensor is an error.
 */
public final class LlamaLoader {
    private static final Pattern INV_FREQ = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq");

    private LlamaLoader() {}

    public static LlamaForCausalLM load(Path weightsFile, ModelConfig config, Device device) {
        requireNonNull(weightsFile, "weightsFile is null");
        requireNonNull(device, "device is null");
        LlamaConfig llama = LlamaConfig.from(config); // validate before touching the weights
        try (SafetensorsFile file = SafetensorsFile.open(weightsFile)) {
            Set<String> skipped = new LinkedHashSet<>();
            for (String name : file.names()) {
                if (INV_FREQ.matcher(name).matches() || (llama.tieWordEmbeddings() && name.equals("lm_head.weight"))) {
                    skipped.add(name);
                }
            }
            LlamaForCausalLM model = LlamaForCausalLM.owning(llama, NDManager.newBaseManager(device));
            try {
                StateDictLoader.loadStrict(model.module(), file, Map.of(), Set.of(), skipped);
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
            return model;
        }
    }
}
