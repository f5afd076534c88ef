package dev.peft4j.models.llama;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.generation.CausalAttention;
import dev.peft4j.models.generation.KvCache;
import dev.peft4j.models.generation.TiedLmHead;

/**
 * A Llama causal language model with HF's {@code LlamaForCausalLM} module tree: {@code model}
 * ({@link LlamaModel}) and {@code lm_head}, a {@link Linear} {@code [V, D]} or, with
 * {@code tie_word_embeddings}, a {@link TiedLmHead} on {@code model.embed_tokens.weight} that owns
 * no parameter (so names and counts equal HF's state dict).
 *
 * <p>{@link #forward}: ids {@code [B, T]}, mask {@code [B, past + T]}, optional position ids
 * {@code [B, T]} (default {@code past .. past + T - 1}); logits {@code [B, T, V]}.
 */
public final class LlamaForCausalLM implements TransformerModel {
    private final LlamaConfig config;
    private final NDManager manager;
    private final Root root;

    /** Builds the tree with zero weights (norms one) in a new sub-manager of {@code parent}; load weights afterwards. */
    public LlamaForCausalLM(LlamaConfig config, NDManager parent) {
        this(config, requireNonNull(parent, "parent is null").newSubManager(), true);
    }

    private LlamaForCausalLM(LlamaConfig config, NDManager manager, boolean owned) {
        this.config = requireNonNull(config, "config is null");
        this.manager = manager;
        try {
            this.root = new Root(config, manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Builds the tree in {@code manager}, which the model takes over: {@link #close()} closes it. */
    public static LlamaForCausalLM owning(LlamaConfig config, NDManager manager) {
        return new LlamaForCausalLM(config, requireNonNull(manager, "manager is null"), true);
    }

    /**
     * A model with random weights (normal, std 0.02; norms one) for tests. Seeds the engine's
     * random generator, so equal seeds give equal weights.
     */
    public static LlamaForCausalLM random(LlamaConfig config, NDManager parent, long seed) {
        LlamaForCausalLM model = new LlamaForCausalLM(config, parent);
        model.manager.getEngine().setRandomSeed((int) seed);
        for (var e : model.root.namedParameters().entrySet()) {
            if (!e.getKey().endsWith("norm.weight")) {
                Parameter p = e.getValue();
                p.setValue(model.manager.randomNormal(0f, 0.02f, p.shape(), DataType.FLOAT32));
            }
        }
        return model;
    }

    public LlamaConfig llamaConfig() {
        return config;
    }

    @Override
    public ModelConfig config() {
        return config.raw();
    }

    @Override
    public Module module() {
        return root;
    }

    @Override
    public NDManager manager() {
        return manager;
    }

    @Override
    public String baseModelPrefix() {
        return "model";
    }

    @Override
    public boolean isCausalLm() {
        return true;
    }

    @Override
    public ModelOutput forward(ModelInput input, ForwardContext context) {
        requireNonNull(input, "input is null");
        requireNonNull(context, "context is null");
        NDArray ids = input.inputIds();
        if (ids.getShape().dimension() != 2) {
            throw new Peft4jException("input ids have shape " + ids.getShape() + ", expected [batch, seq]");
        }
        long past = context.attribute(KvCache.KEY).map(KvCache::length).orElse(0L);
        NDArray positions = input.positionIds() != null ? input.positionIds()
                : CausalAttention.defaultPositions(ids.getShape().get(0), past, ids.getShape().get(1), context.manager());
        NDList out = root.forward(new NDList(ids, input.attentionMask(), positions), context);
        return new ModelOutput(out.get(1), null, out.get(0), out.subNDList(2));
    }

    @Override
    public void close() {
        manager.close();
    }

    /** The root of the tree: {@code model} and {@code lm_head}. Inputs (ids, mask, positions); outputs (logits, hidden, hidden states when asked). */
    static final class Root extends Module {
        Root(LlamaConfig c, NDManager manager) {
            super(ModuleType.MODEL);
            addChild("model", new LlamaModel(c, manager));
            addChild("lm_head", c.tieWordEmbeddings() ? new TiedLmHead(this, "model.embed_tokens")
                    : new Linear(manager, c.hiddenSize(), c.vocabSize(), false));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            NDList backbone = child("model").forward(inputs, context);
            NDArray hidden = backbone.get(0);
            NDList out = new NDList(child("lm_head").forward(hidden, context), hidden);
            out.addAll(backbone.subNDList(1));
            return out;
        }
    }
}
