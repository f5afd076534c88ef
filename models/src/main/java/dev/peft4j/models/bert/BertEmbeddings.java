package dev.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.nn.Embedding;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.LayerNorm;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * HF {@code BertEmbeddings}: word + absolute position + token type embeddings, then LayerNorm and
 * dropout. Children {@code word_embeddings}, {@code position_embeddings}, {@code token_type_embeddings},
 * {@code LayerNorm}, {@code dropout}. As HF's {@code padding_idx}, the pad token's row of
 * {@code word_embeddings} receives no gradient.
 *
 * <p>Inputs: {@code input_ids [B, S]} int64, optionally {@code token_type_ids [B, S]} (zeros when
 * absent) and {@code position_ids [B, S] or [S]} ({@code 0..S-1} when absent). Output {@code [B, S, H]}.
 */
public final class BertEmbeddings extends Module {
    private final int padTokenId;

    public BertEmbeddings(BertConfig config, NDManager manager) {
        super(ModuleType.EMBEDDINGS);
        this.padTokenId = config.padTokenId();
        addChild("word_embeddings", new Embedding(manager, config.vocabSize(), config.hiddenSize()));
        addChild("position_embeddings", new Embedding(manager, config.maxPositionEmbeddings(), config.hiddenSize()));
        addChild("token_type_embeddings", new Embedding(manager, config.typeVocabSize(), config.hiddenSize()));
        addChild("LayerNorm", new LayerNorm(manager, config.hiddenSize(), (float) config.layerNormEps()));
        addChild("dropout", new Dropout((float) config.hiddenDropoutProb()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray ids = inputs.get(0);
        NDArray typeIds = inputs.size() > 1 ? inputs.get(1) : null;
        NDArray positionIds = inputs.size() > 2 ? inputs.get(2) : null;
        NDArray prompt = inputs.size() > 3 ? inputs.get(3) : null;
        return new NDList(embed(ids, typeIds, positionIds, prompt, context));
    }

    /** {@code typeIds} and {@code positionIds} may be null. */
    public NDArray embed(NDArray ids, NDArray typeIds, NDArray positionIds, ForwardContext context) {
        return embed(ids, typeIds, positionIds, null, context);
    }

    /**
     * As above, with {@code prompt [B, P, H]} (or null) placed before the embedded tokens, HF's
     * {@code inputs_embeds = cat(prompt, word_embeddings(ids))}; {@code typeIds} and {@code positionIds}
     * then cover {@code P + S} positions.
     */
    public NDArray embed(NDArray ids, NDArray typeIds, NDArray positionIds, NDArray prompt, ForwardContext context) {
        long seq = ids.getShape().get(1) + (prompt == null ? 0 : prompt.getShape().get(1));
        if (positionIds == null) {
            // [S], broadcast over the batch; created in the per-call manager.
            positionIds = context.manager().arange(0, seq, 1, DataType.INT64);
        }
        if (typeIds == null) {
            typeIds = context.manager().zeros(new ai.djl.ndarray.types.Shape(ids.getShape().get(0), seq), DataType.INT64);
        }
        NDArray words = child("word_embeddings").forward(ids, context); // [B, S, H]
        if (padTokenId >= 0) {
            // HF builds word_embeddings with padding_idx = pad_token_id: the pad row never gets a
            // gradient. Same values, but pad positions are cut from the graph.
            NDArray isPad = ids.eq(padTokenId).expandDims(-1).broadcast(words.getShape()); // [B, S, H] boolean
            words = NDArrays.where(isPad, words.stopGradient(), words);
        }
        if (prompt != null) {
            words = prompt.concat(words, 1); // [B, P + S, H]
        }
        NDArray positions = child("position_embeddings").forward(positionIds, context); // [S, H] or [B, S, H]
        NDArray types = child("token_type_embeddings").forward(typeIds, context); // [B, S, H]
        NDArray sum = words.add(types).add(positions);
        NDArray normed = child("LayerNorm").forward(sum, context);
        return child("dropout").forward(normed, context);
    }
}
