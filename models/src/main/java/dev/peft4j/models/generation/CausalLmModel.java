package dev.peft4j.models.generation;

import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ForwardHooks;
import dev.peft4j.api.model.VirtualTokens;
import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * What the decoder-only language models share: HF's {@code XForCausalLM} tree, a backbone under
 * {@link #baseModelPrefix()} ({@code model} for Llama, {@code transformer} for GPT-2) beside
 * {@code lm_head}, a {@link Linear} {@code [V, D]} or, with tied embeddings, a {@link TiedLmHead} on the
 * backbone's token embedding that owns no parameter (so names and counts equal HF's state dict).
 *
 * <p>{@link #forward}: ids {@code [B, T]}, mask {@code [B, past + T]}, optional position ids {@code [B, T]}
 * (default {@code past .. past + T - 1}, {@code past} from the context's {@link KvCache}); logits
 * {@code [B, T, V]}, the last hidden state, and the per-layer hidden states when asked.
 */
public abstract class CausalLmModel implements TransformerModel {
    private final NDManager manager;
    private final String backboneName;
    private final Root root;
    private final ForwardHooks hooks = new ForwardHooks();

    /**
     * Builds the tree in {@code manager}, which the model owns ({@link #close()} closes it, and so does a
     * failure here).
     *
     * @param tiedEmbedding the path of the token embedding {@code lm_head} shares, or null for an own
     *     {@code [vocab, hidden]} weight
     */
    protected CausalLmModel(NDManager manager, String backboneName, Function<NDManager, Module> backbone, String tiedEmbedding,
            long hidden, long vocab) {
        this.manager = requireNonNull(manager, "manager is null");
        this.backboneName = requireNonNull(backboneName, "backboneName is null");
        try {
            this.root = new Root(backboneName, backbone.apply(manager), tiedEmbedding, manager, hidden, vocab);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Sets every parameter not matched by {@code keep} to N(0, 0.02) from the engine's generator seeded
     * with {@code seed} (equal seeds, equal weights): the tiny random models of tests.
     */
    protected final void randomize(long seed, Predicate<String> keep) {
        manager.getEngine().setRandomSeed((int) seed);
        for (Map.Entry<String, Parameter> e : root.namedParameters().entrySet()) {
            if (!keep.test(e.getKey())) {
                Parameter p = e.getValue();
                p.setValue(manager.randomNormal(0f, 0.02f, p.shape(), DataType.FLOAT32));
            }
        }
    }

    @Override
    public final Module module() {
        return root;
    }

    @Override
    public final NDManager manager() {
        return manager;
    }

    @Override
    public final String baseModelPrefix() {
        return backboneName;
    }

    @Override
    public final boolean isCausalLm() {
        return true;
    }

    @Override
    public final ForwardHooks forwardHooks() {
        return hooks;
    }

    /**
     * {@inheritDoc}
     *
     * <p>{@link VirtualTokens} on the context (set by a {@link dev.peft4j.api.model.ForwardHook}) are honoured as
     * HF decoders honour what PEFT passes them: the mask gets {@code P} leading ones on every pass; given position
     * ids are ignored (PEFT drops them) and positions count from the cache, which a prefix fills first (the input
     * starts at {@code P}); prompt embeddings come before the embedded tokens and the logits then cover
     * {@code P + T} positions. With a {@link KvCache} the virtual tensors enter the cache on the first pass only.
     */
    @Override
    public final ModelOutput forward(ModelInput input, ForwardContext context) {
        requireNonNull(input, "input is null");
        requireNonNull(context, "context is null");
        NDArray ids = input.inputIds();
        if (ids.getShape().dimension() != 2) {
            throw new Peft4jException("input ids have shape " + ids.getShape() + ", expected [batch, seq]");
        }
        hooks.run(input, context);
        long past = context.attribute(KvCache.KEY).map(KvCache::length).orElse(0L);
        long batch = ids.getShape().get(0);
        long length = ids.getShape().get(1);
        VirtualTokens virtual = context.attribute(VirtualTokens.KEY).orElse(null);
        if (virtual == null) {
            NDArray positions = input.positionIds() != null ? input.positionIds()
                    : CausalAttention.defaultPositions(batch, past, length, context.manager());
            NDList out = root.forward(new NDList(ids, input.attentionMask(), positions), context);
            return new ModelOutput(out.get(1), null, out.get(0), out.subNDList(2));
        }
        int p = virtual.count();
        NDArray mask = context.manager().ones(new Shape(batch, p), DataType.INT64)
                .concat(input.attentionMask().toType(DataType.INT64, false), 1);
        boolean firstPass = past == 0;
        if (!firstPass) {
            // the virtual keys/values (or the prompt's) are in the cache already; only the mask still needs P
            context.setAttribute(VirtualTokens.KEY, null);
        }
        boolean prompt = firstPass && !virtual.isPrefix();
        long start = past + (firstPass && virtual.isPrefix() ? p : 0);
        NDArray positions = CausalAttention.defaultPositions(batch, start, length + (prompt ? p : 0), context.manager());
        NDList out;
        try {
            out = root.forward(new NDList(ids, mask, positions), context);
        } finally {
            if (!firstPass) {
                context.setAttribute(VirtualTokens.KEY, virtual);
            }
        }
        return new ModelOutput(out.get(1), null, out.get(0), out.subNDList(2), prompt ? mask : null);
    }

    @Override
    public final void close() {
        manager.close();
    }

    /** The root: the backbone and {@code lm_head}. Inputs (ids, mask, positions); outputs (logits, hidden, hidden states when asked). */
    static final class Root extends Module {
        private final String backboneName;

        Root(String backboneName, Module backbone, String tiedEmbedding, NDManager manager, long hidden, long vocab) {
            super(ModuleType.MODEL);
            this.backboneName = backboneName;
            addChild(backboneName, backbone);
            addChild("lm_head", tiedEmbedding != null ? new TiedLmHead(this, tiedEmbedding) : new Linear(manager, hidden, vocab, false));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            NDList backbone = child(backboneName).forward(inputs, context);
            NDArray hidden = backbone.get(0);
            NDList out = new NDList(child("lm_head").forward(hidden, context), hidden);
            out.addAll(backbone.subNDList(1));
            return out;
        }
    }
}
