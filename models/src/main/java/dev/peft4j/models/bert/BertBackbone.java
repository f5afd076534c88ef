package dev.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import java.util.ArrayList;
import java.util.List;

/**
 * The root of a BERT module tree, HF {@code BertModel}'s layout: children {@code embeddings},
 * {@code encoder} and, when the checkpoint has one, {@code pooler}.
 *
 * <p>{@link #forward(NDList, ForwardContext)} takes {@code input_ids}, {@code attention_mask}
 * (int64 {@code [B, S]}) and optionally {@code token_type_ids}, and returns the last hidden state
 * {@code [B, S, H]} followed by the pooled output {@code [B, H]} when there is a pooler.
 */
public final class BertBackbone extends Module {
    BertBackbone(BertConfig config, NDManager manager, boolean withPooler) {
        super(ModuleType.MODEL);
        addChild("embeddings", new BertEmbeddings(config, manager));
        addChild("encoder", new BertEncoder(config, manager));
        if (withPooler) {
            addChild("pooler", new BertPooler(config, manager));
        }
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        ModelOutput out = run(inputs.get(0), inputs.get(1), inputs.size() > 2 ? inputs.get(2) : null, null, null, context, false);
        return out.pooled() == null ? new NDList(out.lastHiddenState()) : new NDList(out.lastHiddenState(), out.pooled());
    }

    /**
     * The full forward pass; {@code tokenTypeIds} and {@code positionIds} may be null. With
     * {@code promptEmbeddings [B, P, H]} (prompt tuning), mask, token types and positions cover {@code P + S}
     * positions and the embeddings module gets the prompt as a fourth input.
     */
    ModelOutput run(NDArray inputIds, NDArray attentionMask, NDArray tokenTypeIds, NDArray positionIds, NDArray promptEmbeddings,
            ForwardContext context, boolean keepHiddenStates) {
        long total = inputIds.getShape().get(1) + (promptEmbeddings == null ? 0 : promptEmbeddings.getShape().get(1));
        // Defaults are made here, not left to BertEmbeddings, so that a module replacing "embeddings"
        // always receives all three inputs: ids, token types [B, S], positions [S].
        if (tokenTypeIds == null) {
            tokenTypeIds = context.manager().zeros(new ai.djl.ndarray.types.Shape(inputIds.getShape().get(0), total), DataType.INT64);
        }
        if (positionIds == null) {
            positionIds = context.manager().arange(0, total, 1, DataType.INT64);
        }
        NDList embeddingInputs = new NDList(inputIds, tokenTypeIds, positionIds);
        if (promptEmbeddings != null) {
            embeddingInputs.add(promptEmbeddings);
        }
        NDArray embedded = child("embeddings").forward(embeddingInputs, context).get(0);
        // No padding anywhere in the batch (fixed-length batches, the longest bucket): no mask at all,
        // which saves an add over every layer's scores [B, nh, S, S]; HF's SDPA path does the same.
        NDArray additiveMask = allOnes(attentionMask) ? null : additiveMask(attentionMask, embedded.getDataType(), context);
        NDList layerOutputs = child("encoder").forward(additiveMask == null ? new NDList(embedded) : new NDList(embedded, additiveMask), context);
        NDArray last = layerOutputs.get(layerOutputs.size() - 1);
        NDArray pooled = hasChild("pooler") ? child("pooler").forward(last, context) : null;
        List<NDArray> hiddenStates = null;
        if (keepHiddenStates) {
            hiddenStates = new ArrayList<>(layerOutputs.size() + 1);
            hiddenStates.add(embedded);
            hiddenStates.addAll(layerOutputs);
        }
        return new ModelOutput(last, pooled, null, hiddenStates);
    }

    /** Whether every position of {@code attention_mask [B, S]} is attended (one small reduction). */
    static boolean allOnes(NDArray attentionMask) {
        try (NDArray min = attentionMask.min()) {
            return min.toType(DataType.INT64, false).getLong() == 1L;
        }
    }

    /**
     * {@code attention_mask [B, S]} (1 real, 0 pad) to an additive mask {@code [B, 1, 1, S]}:
     * {@code (1 - mask) * finfo(dtype).min}, as HF does, in the hidden states' dtype. Built from
     * the per-call context's torch-owned constants, never from {@code NDArray.mul(Number)}.
     */
    static NDArray additiveMask(NDArray attentionMask, DataType dtype, ForwardContext context) {
        float min = dtype == DataType.FLOAT16 ? -65504f : -Float.MAX_VALUE;
        NDArray mask = attentionMask.toType(dtype, false);
        long batch = attentionMask.getShape().get(0);
        long seq = attentionMask.getShape().get(1);
        return context.scalar(1f).sub(mask).mul(context.scalar(min)).reshape(batch, 1, 1, seq);
    }
}
