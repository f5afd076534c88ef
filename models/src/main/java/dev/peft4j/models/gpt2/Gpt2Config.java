package dev.peft4j.models.gpt2;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import java.util.Map;
import java.util.Set;

/**
 * The fields of a GPT-2 {@code config.json} that the architecture uses, validated.
 *
 * @param innerSize {@code n_inner}, default {@code 4 * n_embd}
 */
public record Gpt2Config(
        ModelConfig raw,
        int vocabSize,
        int nPositions,
        int nEmbd,
        int nLayer,
        int nHead,
        int innerSize,
        float layerNormEpsilon,
        boolean scaleAttnWeights,
        boolean scaleAttnByInverseLayerIdx,
        boolean tieWordEmbeddings,
        float embdPdrop,
        float attnPdrop,
        float residPdrop) {

    /** Activations computed as gelu_new (the tanh approximation); HF names it several ways. */
    private static final Set<String> TANH_GELU = Set.of("gelu_new", "gelu_pytorch_tanh", "gelu_fast");

    public Gpt2Config {
        requireNonNull(raw, "raw is null");
    }

    public int headDim() {
        return nEmbd / nHead;
    }

    public static Gpt2Config from(ModelConfig c) {
        requireNonNull(c, "config is null");
        if (!"gpt2".equals(c.modelType())) {
            throw new Peft4jException(c.source() + ": model_type is \"" + c.modelType() + "\", expected \"gpt2\"");
        }
        String act = c.has("activation_function") ? c.string("activation_function") : "gelu_new";
        if (!TANH_GELU.contains(act)) {
            throw new Peft4jException(c.source() + ": activation_function \"" + act + "\" is not supported for gpt2; supported: "
                    + TANH_GELU);
        }
        if (c.bool("add_cross_attention", false)) {
            throw new Peft4jException(c.source() + ": add_cross_attention true is not supported (decoder-only GPT-2)");
        }
        int nEmbd = c.integer("n_embd");
        int nHead = c.integer("n_head");
        if (nEmbd <= 0 || nHead <= 0 || nEmbd % nHead != 0) {
            throw new Peft4jException(c.source() + ": n_embd " + nEmbd + " must be a positive multiple of n_head " + nHead);
        }
        return new Gpt2Config(c, c.integer("vocab_size"), c.integer("n_positions"), nEmbd, c.integer("n_layer"), nHead,
                c.integer("n_inner", 4 * nEmbd), (float) c.number("layer_norm_epsilon", 1e-5), c.bool("scale_attn_weights", true),
                c.bool("scale_attn_by_inverse_layer_idx", false), c.bool("tie_word_embeddings", true),
                rate(c, "embd_pdrop"), rate(c, "attn_pdrop"), rate(c, "resid_pdrop"));
    }

    private static float rate(ModelConfig c, String key) {
        double v = c.number(key, 0.1);
        if (!(v >= 0 && v < 1)) {
            throw new Peft4jException(c.source() + ": " + key + " is " + v + ", expected a dropout rate in [0, 1)");
        }
        return (float) v;
    }

    public static Gpt2Config fromMap(Map<String, Object> values) {
        return from(new ModelConfig(values, "<in-memory gpt2 config>"));
    }
}
