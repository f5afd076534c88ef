package dev.peft4j.models.bert;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.AttentionShape;
import dev.peft4j.api.model.ForwardHook;
import dev.peft4j.api.model.ForwardHooks;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.VirtualTokens;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import java.util.Map;
import java.util.Random;

/**
 * A BERT-family encoder (BERT, MiniLM, BGE, E5) whose module tree and parameter names are exactly
 * HF {@code BertModel}'s: {@code embeddings.word_embeddings.weight},
 * {@code encoder.layer.0.attention.self.query.weight}, ..., {@code pooler.dense.bias}.
 *
 * <p>The model owns a sub-manager of the manager it was built in; {@link #close()} frees all
 * parameters. The forward pass allocates its temporaries in the inputs' and the context's
 * managers, never in the model's, so per-step managers keep memory flat.
 */
public final class BertModel implements TransformerModel {
    /** Set to {@code true} on the context to get {@link ModelOutput#hiddenStates()} (embeddings, then each layer). */
    public static final ForwardContext.Key<Boolean> OUTPUT_HIDDEN_STATES =
            new ForwardContext.Key<>("bert.output_hidden_states", Boolean.class);

    private final BertConfig bertConfig;
    private final ModelConfig config;
    private final NDManager manager;
    private final BertBackbone root;
    private final ForwardHooks hooks = new ForwardHooks();

    /**
     * A zero-initialised model (weights to be loaded) in a new sub-manager of {@code parent}.
     *
     * @param withPooler whether to build {@code pooler.dense} (HF's {@code add_pooling_layer})
     */
    public BertModel(ModelConfig config, NDManager parent, boolean withPooler) {
        this(requireNonNull(parent, "parent is null").newSubManager(), config, withPooler);
    }

    /** Takes {@code manager} over (it becomes {@link #manager()}, closed by {@link #close()}). */
    private BertModel(NDManager manager, ModelConfig config, boolean withPooler) {
        try {
            this.config = requireNonNull(config, "config is null");
            this.bertConfig = BertConfig.from(config);
            this.manager = manager;
            this.manager.setName("bert-model");
            this.root = new BertBackbone(bertConfig, manager, withPooler);
        } catch (RuntimeException e) {
            manager.close(); // a bad config must not leak the parameters created so far
            throw e;
        }
    }

    /**
     * A zero-initialised model that takes {@code manager} over: its parameters are created there,
     * and {@link #close()} closes it. Used by loaders, which give each model its own base manager
     * on the model's device.
     */
    public static BertModel owning(ModelConfig config, NDManager manager, boolean withPooler) {
        return new BertModel(requireNonNull(manager, "manager is null"), config, withPooler);
    }

    /** A tiny random model for tests, with a pooler: weights N(0, 0.02), biases 0, LayerNorm 1/0. */
    public static BertModel random(BertConfig config, NDManager parent, long seed) {
        return random(config, parent, seed, true);
    }

    /** As {@link #random(BertConfig, NDManager, long)}, with or without the pooler. */
    public static BertModel random(BertConfig config, NDManager parent, long seed, boolean withPooler) {
        BertModel model = new BertModel(config.toModelConfig("<random BERT>"), parent, withPooler);
        Random random = new Random(seed);
        for (Map.Entry<String, Parameter> e : model.module().namedParameters().entrySet()) {
            String name = e.getKey();
            if (name.endsWith("LayerNorm.weight") || name.endsWith(".bias")) {
                continue; // already ones / zeros, as HF's _init_weights
            }
            Parameter p = e.getValue();
            Shape shape = p.shape();
            float[] values = new float[Math.toIntExact(shape.size())];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * 0.02);
            }
            // create() wraps a Java buffer: copy into torch-owned memory and drop the wrapper.
            try (NDArray javaBacked = model.manager.create(values, shape)) {
                p.setValue(javaBacked.duplicate());
            }
        }
        return model;
    }

    public BertConfig bertConfig() {
        return bertConfig;
    }

    public boolean hasPooler() {
        return root.hasChild("pooler");
    }

    @Override
    public ModelConfig config() {
        return config;
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
        return "bert";
    }

    @Override
    public boolean isCausalLm() {
        return false;
    }

    @Override
    public AttentionShape attentionShape() {
        return new AttentionShape(bertConfig.numHiddenLayers(), bertConfig.numAttentionHeads(), bertConfig.numAttentionHeads(),
                bertConfig.headDim(), bertConfig.hiddenSize(), bertConfig.maxPositionEmbeddings());
    }

    @Override
    public ForwardHooks forwardHooks() {
        return hooks;
    }

    @Override
    public java.util.Optional<String> inputEmbeddingsPath() {
        return java.util.Optional.of("embeddings.word_embeddings");
    }

    /**
     * Runs the encoder. Output: last hidden state {@code [B, S, H]}, pooled {@code [B, H]} (null
     * without a pooler), no logits, and hidden states when {@link #OUTPUT_HIDDEN_STATES} is set.
     *
     * <p>{@link VirtualTokens} on the context (set by a {@link ForwardHook}) are honoured as HF's
     * {@code BertModel} honours what PEFT passes it: the mask gets {@code P} leading ones; a prefix's keys and
     * values come before each layer's own and the input's positions start at {@code P} (HF counts them from the
     * cache length); prompt embeddings come before the embedded tokens, at positions {@code 0 .. P-1} with token
     * type 0, and the output then has {@code P + S} positions, {@link ModelOutput#attentionMask()} the extended mask.
     */
    @Override
    public ModelOutput forward(ModelInput input, ForwardContext context) {
        requireNonNull(input, "input is null");
        requireNonNull(context, "context is null");
        Shape ids = input.inputIds().getShape();
        if (ids.dimension() != 2 || !input.attentionMask().getShape().equals(ids)) {
            throw new Peft4jException("BERT input_ids must be [batch, seq] with an attention_mask of the same shape; got "
                    + ids + " and " + input.attentionMask().getShape());
        }
        if (ids.get(1) > bertConfig.maxPositionEmbeddings()) {
            throw new Peft4jException("sequence length " + ids.get(1) + " exceeds max_position_embeddings "
                    + bertConfig.maxPositionEmbeddings() + " of " + config.source());
        }
        boolean hidden = context.attribute(OUTPUT_HIDDEN_STATES).orElse(false);
        hooks.run(input, context);
        VirtualTokens virtual = context.attribute(VirtualTokens.KEY).orElse(null);
        if (virtual == null) {
            return root.run(input.inputIds(), input.attentionMask(), input.tokenTypeIds(), input.positionIds(), null, context, hidden);
        }
        long batch = ids.get(0);
        long seq = ids.get(1);
        int p = virtual.count();
        if (p + seq > bertConfig.maxPositionEmbeddings()) {
            throw new Peft4jException(p + " virtual tokens + sequence length " + seq + " exceed max_position_embeddings "
                    + bertConfig.maxPositionEmbeddings() + " of " + config.source() + "; use fewer virtual tokens (num-virtual-tokens) or shorter inputs");
        }
        NDManager m = context.manager();
        NDArray mask = m.ones(new Shape(batch, p), DataType.INT64).concat(input.attentionMask().toType(DataType.INT64, false), 1);
        if (virtual.isPrefix()) {
            if (virtual.pastKeys().size() != bertConfig.numHiddenLayers()) {
                throw new Peft4jException("prefix has " + virtual.pastKeys().size() + " layers, the model " + bertConfig.numHiddenLayers());
            }
            NDArray positions = input.positionIds() != null ? input.positionIds() : m.arange(p, p + seq, 1, DataType.INT64);
            return root.run(input.inputIds(), mask, input.tokenTypeIds(), positions, null, context, hidden);
        }
        NDArray types = input.tokenTypeIds() == null ? null
                : m.zeros(new Shape(batch, p), DataType.INT64).concat(input.tokenTypeIds().toType(DataType.INT64, false), 1);
        ModelOutput out = root.run(input.inputIds(), mask, types, input.positionIds(), virtual.inputEmbeddings(), context, hidden);
        return new ModelOutput(out.lastHiddenState(), out.pooled(), out.logits(), out.hiddenStates(), mask);
    }

    @Override
    public void close() {
        manager.close();
    }
}
