package dev.peft4j.models.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.nn.Embedding;
import dev.peft4j.api.model.VirtualTokens;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.RmsNorm;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.generation.CausalAttention;
import dev.peft4j.models.generation.KvCache;
import dev.peft4j.models.generation.ModuleList;
import java.util.ArrayList;
import java.util.List;

/**
 * The Llama backbone ({@code model}): {@code embed_tokens}, {@code layers.N}, {@code norm}.
 *
 * <p>Inputs: {@code inputIds [B, T]} int64, {@code attentionMask [B, past + T]} int64,
 * {@code positionIds [B, T]} int64. Output: the last hidden state {@code [B, T, D]} after {@code norm}, then,
 * when {@link BertModel#OUTPUT_HIDDEN_STATES} is set, HF's {@code hidden_states}: the embeddings, the
 * outputs of layers 0 .. L-2, and the normed last state (L + 1 tensors).
 * With a {@link KvCache} in the context, {@code past} is its length and the layers append to it.
 */
public final class LlamaModel extends Module {
    private final LlamaRotaryEmbedding rotary;

    LlamaModel(LlamaConfig c, NDManager manager) {
        super(ModuleType.DECODER);
        this.rotary = new LlamaRotaryEmbedding(c);
        addChild("embed_tokens", new Embedding(manager, c.vocabSize(), c.hiddenSize()));
        List<Module> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(new LlamaDecoderLayer(c, i, manager));
        }
        addChild("layers", new ModuleList(layers));
        addChild("norm", new RmsNorm(manager, c.hiddenSize(), c.rmsNormEps()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray ids = inputs.get(0);
        NDArray mask = inputs.get(1);
        NDArray positions = inputs.get(2);
        long past = context.attribute(KvCache.KEY).map(KvCache::length).orElse(0L);
        NDArray hidden = child("embed_tokens").forward(ids, context);
        // virtual tokens still to be placed (CausalLmModel clears them once they are in the cache)
        VirtualTokens virtual = context.attribute(VirtualTokens.KEY).orElse(null);
        if (virtual != null && virtual.isPrefix()) {
            past += virtual.count(); // each layer attends to the prefix first, as to a cache
        } else if (virtual != null) {
            hidden = virtual.inputEmbeddings().concat(hidden, 1); // [B, P + T, D]
        }
        long length = hidden.getShape().get(1);
        // Mask and rotary tables in the hidden dtype (float16 models stay float16: no promotion).
        NDArray bias = CausalAttention.maskBias(mask, past, length, hidden.getDataType(), context);
        NDList cosSin = rotary.cosSin(positions, context.manager());
        if (hidden.getDataType() != DataType.FLOAT32) {
            cosSin = new NDList(cosSin.get(0).toType(hidden.getDataType(), false), cosSin.get(1).toType(hidden.getDataType(), false));
        }
        boolean keep = context.attribute(BertModel.OUTPUT_HIDDEN_STATES).orElse(false);
        NDList states = new NDList();
        ModuleList layers = (ModuleList) child("layers");
        for (int i = 0; i < layers.size(); i++) {
            if (keep) {
                states.add(hidden);
            }
            hidden = layers.get(i).forward(new NDList(hidden, bias, cosSin.get(0), cosSin.get(1)), context).singletonOrThrow();
        }
        NDArray last = child("norm").forward(hidden, context);
        if (keep) {
            states.add(last);
        }
        NDList out = new NDList(last);
        out.addAll(states);
        return out;
    }
}
