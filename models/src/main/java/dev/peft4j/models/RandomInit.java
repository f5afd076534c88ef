package dev.peft4j.models;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Replaces every weight of a model with a fresh random initialisation, as HF's
 * {@code BertPreTrainedModel._init_weights} does: linear and embedding weights
 * {@code N(0, initializer_range)} (0.02 when the config has none), biases 0, LayerNorm and RMSNorm
 * weights 1, and the {@code pad_token_id} row of BERT's {@code word_embeddings} 0 (its {@code padding_idx}).
 * Decoders get the same rule; HF's decoder-specific refinements (GPT-2's residual projections scaled
 * by {@code 1/sqrt(2 n_layer)}, Llama's zeroed padding row of {@code embed_tokens}) are not applied.
 * The architecture, the shapes and the parameter names stay; only values change. This is the
 * "same architecture trained from scratch" baseline that shows what pretraining contributes.
 */
public final class RandomInit {
    private RandomInit() {}

    /** Re-initialises {@code model} in place from {@code seed} (the same seed gives the same weights). */
    public static void reinitialize(TransformerModel model, long seed) {
        requireNonNull(model, "model is null");
        double std = model.config().number("initializer_range", 0.02);
        int padId = model.config().has("pad_token_id") ? model.config().integer("pad_token_id") : -1;
        SplittableRandom random = new SplittableRandom(seed);
        NDManager manager = model.manager();
        Map<String, Module> modules = new LinkedHashMap<>();
        modules.put("", model.module());
        modules.putAll(model.module().namedModules());
        for (Map.Entry<String, Module> entry : modules.entrySet()) {
            Module module = entry.getValue();
            ModuleType type = module.type();
            boolean norm = type.equals(ModuleType.LAYER_NORM) || type.equals(ModuleType.RMS_NORM);
            for (Parameter p : module.localParameters().values()) {
                float[] values = new float[Math.toIntExact(p.size())];
                if (norm && p.name().equals("weight")) {
                    Arrays.fill(values, 1f);
                } else if (!p.name().equals("bias")) {
                    for (int i = 0; i < values.length; i++) {
                        values[i] = (float) (random.nextGaussian() * std);
                    }
                    if (type.equals(ModuleType.EMBEDDING) && entry.getKey().endsWith("word_embeddings") && padId >= 0
                            && p.shape().dimension() == 2 && padId < p.shape().get(0)) {
                        int width = Math.toIntExact(p.shape().get(1));
                        Arrays.fill(values, padId * width, (padId + 1) * width, 0f);
                    }
                }
                set(manager, p, values);
            }
        }
    }

    private static void set(NDManager manager, Parameter p, float[] values) {
        Shape shape = p.shape();
        DataType type = p.value().getDataType();
        // create() wraps a Java direct buffer: copy into torch-owned memory (duplicate) and drop the wrapper
        try (NDArray javaBacked = manager.create(values, shape)) {
            NDArray owned = type == DataType.FLOAT32 ? javaBacked.duplicate() : javaBacked.toType(type, true);
            p.setValue(owned);
        }
    }
}
