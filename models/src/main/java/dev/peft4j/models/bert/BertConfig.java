package dev.peft4j.models.bert;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fields of an HF {@code BertConfig} that the encoder needs. Structural sizes are required;
 * the others default to HF's {@code BertConfig} defaults. Only what this implementation computes
 * exactly is accepted: {@code hidden_act} {@code gelu} (erf form) and absolute position embeddings.
 * {@code padTokenId} is the word embedding's {@code padding_idx} (-1 for none).
 */
public record BertConfig(
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        String hiddenAct,
        int maxPositionEmbeddings,
        int typeVocabSize,
        double layerNormEps,
        double hiddenDropoutProb,
        double attentionProbsDropoutProb,
        String positionEmbeddingType,
        int padTokenId) {

    /** Without a pad token id: HF's default, 0. */
    public BertConfig(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads, int intermediateSize,
            String hiddenAct, int maxPositionEmbeddings, int typeVocabSize, double layerNormEps, double hiddenDropoutProb,
            double attentionProbsDropoutProb, String positionEmbeddingType) {
        this(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, hiddenAct, maxPositionEmbeddings,
                typeVocabSize, layerNormEps, hiddenDropoutProb, attentionProbsDropoutProb, positionEmbeddingType, 0);
    }

    public BertConfig {
        requireNonNull(hiddenAct, "hiddenAct is null");
        requireNonNull(positionEmbeddingType, "positionEmbeddingType is null");
        if (vocabSize <= 0 || hiddenSize <= 0 || numHiddenLayers <= 0 || numAttentionHeads <= 0 || intermediateSize <= 0
                || maxPositionEmbeddings <= 0 || typeVocabSize <= 0) {
            throw new IllegalArgumentException("BERT sizes must be positive: " + this);
        }
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException(
                    "hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
        }
        if (padTokenId < -1 || padTokenId >= vocabSize) {
            throw new IllegalArgumentException("pad_token_id " + padTokenId + " is outside the vocabulary of " + vocabSize
                    + " (use -1 for none)");
        }
    }

    /** A config with HF's defaults for everything but the sizes (for tests and tiny models). */
    public static BertConfig of(int vocabSize, int hiddenSize, int numHiddenLayers, int numAttentionHeads,
            int intermediateSize, int maxPositionEmbeddings) {
        return new BertConfig(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, "gelu",
                maxPositionEmbeddings, 2, 1e-12, 0.1, 0.1, "absolute");
    }

    /**
     * Reads a BERT config; a missing structural field, a wrong type, an unsupported activation or
     * position embedding type fails with the field and the config's source file.
     */
    public static BertConfig from(ModelConfig config) {
        requireNonNull(config, "config is null");
        String act = config.has("hidden_act") ? config.string("hidden_act") : "gelu";
        if (!act.equals("gelu")) {
            throw new Peft4jException(config.source() + ": field \"hidden_act\" is \"" + act
                    + "\"; peft4j's BERT supports only \"gelu\" (erf GELU)");
        }
        String pos = config.has("position_embedding_type") ? config.string("position_embedding_type") : "absolute";
        if (!pos.equals("absolute")) {
            throw new Peft4jException(config.source() + ": field \"position_embedding_type\" is \"" + pos
                    + "\"; peft4j's BERT supports only \"absolute\"");
        }
        int hidden = config.integer("hidden_size");
        int heads = config.integer("num_attention_heads");
        if (hidden <= 0 || heads <= 0 || hidden % heads != 0) {
            throw new Peft4jException(config.source() + ": hidden_size " + hidden
                    + " must be a positive multiple of num_attention_heads " + heads);
        }
        try {
            return new BertConfig(
                    config.integer("vocab_size"),
                    hidden,
                    config.integer("num_hidden_layers"),
                    heads,
                    config.integer("intermediate_size"),
                    act,
                    config.integer("max_position_embeddings"),
                    config.integer("type_vocab_size", 2),
                    config.number("layer_norm_eps", 1e-12),
                    config.number("hidden_dropout_prob", 0.1),
                    config.number("attention_probs_dropout_prob", 0.1),
                    pos,
                    // HF: BertConfig.pad_token_id defaults to 0; an explicit null means no padding_idx
                    config.values().containsKey("pad_token_id") && !config.has("pad_token_id") ? -1
                            : config.integer("pad_token_id", 0));
        } catch (IllegalArgumentException e) {
            throw new Peft4jException(config.source() + ": " + e.getMessage(), e);
        }
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** The HF {@code config.json} fields of this config ({@code model_type} bert). */
    public Map<String, Object> toConfigJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of("BertModel"));
        m.put("model_type", "bert");
        m.put("vocab_size", vocabSize);
        m.put("hidden_size", hiddenSize);
        m.put("num_hidden_layers", numHiddenLayers);
        m.put("num_attention_heads", numAttentionHeads);
        m.put("intermediate_size", intermediateSize);
        m.put("hidden_act", hiddenAct);
        m.put("max_position_embeddings", maxPositionEmbeddings);
        m.put("type_vocab_size", typeVocabSize);
        m.put("layer_norm_eps", layerNormEps);
        m.put("hidden_dropout_prob", hiddenDropoutProb);
        m.put("attention_probs_dropout_prob", attentionProbsDropoutProb);
        m.put("position_embedding_type", positionEmbeddingType);
        m.put("pad_token_id", padTokenId < 0 ? null : padTokenId);
        return m;
    }

    public ModelConfig toModelConfig(String source) {
        return new ModelConfig(toConfigJson(), source);
    }
}
