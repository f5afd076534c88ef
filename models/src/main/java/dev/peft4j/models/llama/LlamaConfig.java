package dev.peft4j.models.llama;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import java.util.Map;

/**
 * The fields of a Llama {@code config.json} that the architecture uses, validated.
 *
 * @param raw the whole config as read (written back unchanged when saving)
 * @param headDim {@code head_dim}, default {@code hidden_size / num_attention_heads}
 * @param numKeyValueHeads {@code num_key_value_heads}, default {@code num_attention_heads} (no GQA)
 * @param ropeScaling null when the config has none
 */
public record LlamaConfig(
        ModelConfig raw,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        float rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean attentionBias,
        boolean mlpBias,
        boolean tieWordEmbeddings,
        int maxPositionEmbeddings,
        float attentionDropout) {

    public LlamaConfig {
        requireNonNull(raw, "raw is null");
    }

    public static LlamaConfig from(ModelConfig c) {
        requireNonNull(c, "config is null");
        if (!"llama".equals(c.modelType())) {
            throw new Peft4jException(c.source() + ": model_type is \"" + c.modelType() + "\", expected \"llama\"");
        }
        String act = c.has("hidden_act") ? c.string("hidden_act") : "silu";
        if (!act.equals("silu")) {
            throw new Peft4jException(c.source() + ": hidden_act \"" + act + "\" is not supported for llama; only \"silu\"");
        }
        int hidden = positive(c, "hidden_size");
        int heads = positive(c, "num_attention_heads");
        int kvHeads = c.integer("num_key_value_heads", heads);
        if (kvHeads <= 0 || heads % kvHeads != 0) {
            throw new Peft4jException(c.source() + ": num_key_value_heads " + kvHeads
                    + " must be positive and divide num_attention_heads " + heads);
        }
        int headDim;
        if (c.has("head_dim")) {
            headDim = positive(c, "head_dim");
        } else {
            if (hidden % heads != 0) {
                throw new Peft4jException(c.source() + ": hidden_size " + hidden + " is not divisible by num_attention_heads "
                        + heads + " and there is no head_dim");
            }
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) {
            throw new Peft4jException(c.source() + ": head_dim " + headDim + " must be even for rotary embeddings");
        }
        // pretraining_tp > 1 only splits HF's matmuls into slices: the same function, so it is accepted as is.
        int maxPositions = c.integer("max_position_embeddings", 2048);
        return new LlamaConfig(c, positive(c, "vocab_size"), hidden, positive(c, "intermediate_size"),
                positive(c, "num_hidden_layers"), heads, kvHeads, headDim, (float) c.number("rms_norm_eps", 1e-6),
                c.number("rope_theta", 10000.0), RopeScaling.from(c, maxPositions), c.bool("attention_bias", false),
                c.bool("mlp_bias", false), c.bool("tie_word_embeddings", false), maxPositions, attentionDropout(c));
    }

    private static float attentionDropout(ModelConfig c) {
        double v = c.number("attention_dropout", 0.0);
        if (!(v >= 0 && v < 1)) {
            throw new Peft4jException(c.source() + ": attention_dropout is " + v + ", expected a dropout rate in [0, 1)");
        }
        return (float) v;
    }

    /** Convenience for tests and programmatic use: a config from {@code config.json}-style values. */
    public static LlamaConfig fromMap(Map<String, Object> values) {
        return from(new ModelConfig(values, "<in-memory llama config>"));
    }

    private static int positive(ModelConfig c, String key) {
        int v = c.integer(key);
        if (v <= 0) {
            throw new Peft4jException(c.source() + ": field \"" + key + "\" is " + v + ", expected a positive integer");
        }
        return v;
    }

    /**
     * {@code rope_scaling}: {@code linear} (positions divided by {@code factor}) or {@code llama3}
     * (frequency-dependent scaling of Llama 3.1). Other types are rejected by name.
     */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
        static RopeScaling from(ModelConfig c, int maxPositions) {
            Object value = c.optional("rope_scaling").orElse(null);
            if (value == null) {
                return null;
            }
            if (!(value instanceof Map<?, ?> map)) {
                throw new Peft4jException(c.source() + ": rope_scaling is " + value + ", expected null or an object");
            }
            Object type = map.containsKey("rope_type") ? map.get("rope_type") : map.get("type");
            if ("default".equals(type)) {
                return null;
            }
            if ("linear".equals(type)) {
                return new RopeScaling("linear", number(c, map, "factor"), 0, 0, maxPositions);
            }
            if ("llama3".equals(type)) {
                return new RopeScaling("llama3", number(c, map, "factor"), number(c, map, "low_freq_factor"),
                        number(c, map, "high_freq_factor"), (int) number(c, map, "original_max_position_embeddings"));
            }
            throw new Peft4jException(c.source() + ": rope_scaling type \"" + type
                    + "\" is not supported; supported: \"linear\", \"llama3\" (or rope_scaling null)");
        }

        private static double number(ModelConfig c, Map<?, ?> map, String key) {
            Object v = map.get(key);
            if (!(v instanceof Number n)) {
                throw new Peft4jException(c.source() + ": rope_scaling." + key + " is " + v + ", expected a number");
            }
            return n.doubleValue();
        }
    }
}
