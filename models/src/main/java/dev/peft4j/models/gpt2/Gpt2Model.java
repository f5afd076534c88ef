package dev.peft4j.models.gpt2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.nn.Embedding;
import dev.peft4j.api.model.VirtualTokens;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.LayerNorm;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.generation.CausalAttention;
import dev.peft4j.models.generation.KvCache;
import dev.peft4j.models.generation.ModuleList;
import java.util.ArrayList;
import java.util.List;

/**
 * The GPT-2 backbone ({@code transformer}): {@code wte}, {@code wpe}, {@code drop}, {@code h.N}, {@code ln_f}.
 * Inputs (ids {@code [B, T]}, mask {@code [B, past + T]}, positions {@code [B, T]}); output the
 * last hidden state {@code [B, T, D]} after {@code ln_f}, then, when
 * {@link BertModel#OUTPUT_HIDDEN_STATES} is set, HF's {@code hidden_states} (embeddings, outputs of
 * blocks 0 .. L-2, the last state after {@code ln_f}).
 */
public final class Gpt2Model extends Module {
    private final int nPositions;

    Gpt2Model(Gpt2Config c, NDManager manager) {
        super(ModuleType.DECODER);
        this.nPositions = c.nPositions();
        addChild("wte", new Embedding(manager, c.vocabSize(), c.nEmbd()));
        addChild("wpe", new Embedding(manager, c.nPositions(), c.nEmbd()));
        addChild("drop", new Dropout(c.embdPdrop()));
        List<Module> blocks = new ArrayList<>();
        for (int i = 0; i < c.nLayer(); i++) {
            blocks.add(new Gpt2Block(c, i, manager));
        }
        addChild("h", new ModuleList(blocks));
        addChild("ln_f", new LayerNorm(manager, c.nEmbd(), c.layerNormEpsilon()));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray ids = inputs.get(0);
        NDArray positions = inputs.get(2);
        long past = context.attribute(KvCache.KEY).map(KvCache::length).orElse(0L);
        NDArray tokens = child("wte").forward(ids, context);
        // virtual tokens still to be placed (CausalLmModel clears them once they are in the cache)
        VirtualTokens virtual = context.attribute(VirtualTokens.KEY).orElse(null);
        if (virtual != null && virtual.isPrefix()) {
            past += virtual.count(); // each layer attends to the prefix first, as to a cache
        } else if (virtual != null) {
            tokens = virtual.inputEmbeddings().concat(tokens, 1); // [B, P + T, D]
        }
        long length = tokens.getShape().get(1);
        if (past + length > nPositions) {
            throw new Peft4jException("GPT-2 sequence of " + (past + length) + " positions exceeds n_positions " + nPositions);
        }
        NDArray hidden = child("drop").forward(tokens.add(child("wpe").forward(positions, context)), context);
        NDArray bias = CausalAttention.maskBias(inputs.get(1), past, length, hidden.getDataType(), context);
        boolean keep = context.attribute(BertModel.OUTPUT_HIDDEN_STATES).orElse(false);
        NDList states = new NDList();
        ModuleList blocks = (ModuleList) child("h");
        for (int i = 0; i < blocks.size(); i++) {
            if (keep) {
                states.add(hidden);
            }
            hidden = blocks.get(i).forward(new NDList(hidden, bias), context).singletonOrThrow();
        }
        NDArray last = child("ln_f").forward(hidden, context);
        if (keep) {
            states.add(last);
        }
        NDList out = new NDList(last);
        out.addAll(states);
        return out;
    }
}
