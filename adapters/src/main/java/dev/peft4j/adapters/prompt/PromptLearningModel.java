package dev.peft4j.adapters.prompt;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.AttentionShape;
import dev.peft4j.api.model.ForwardHook;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.model.VirtualTokens;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.TensorFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code PeftModel} prompt-learning path as an {@link Adaptation} (the "model" role): the encoder sits
 * in the tree at {@code prompt_encoder.default} (so it trains, checkpoints and counts like any module; the
 * rest of the tree is frozen), and a {@link ForwardHook} on the model turns it into {@link VirtualTokens}
 * at every forward pass (PEFT's {@code get_prompt}).
 *
 * <p>Files: PEFT's {@code adapter_config.json} and {@code adapter_model.safetensors} with the key
 * {@code prompt_embeddings} (the final prefix, after the projection MLP, as PEFT saves it). With
 * {@code prefix-projection} the MLP and its input are saved as well ({@value #OWN_PREFIX}{@code embedding.weight},
 * {@code ...transform.0.weight}, ...), under names PEFT ignores, so that training can resume.
 */
public final class PromptLearningModel implements Adaptation, ForwardHook {
    public static final String CONTAINER = "prompt_encoder";
    public static final String ADAPTER_NAME = "default";
    public static final String PEFT_KEY = "prompt_embeddings";
    /** Prefix of the projection MLP's tensors in saved files (not read by PEFT). */
    public static final String OWN_PREFIX = "peft4j.prompt_encoder.";

    /** Which prompt-learning method. */
    public enum Kind {
        PREFIX_TUNING("prefix-tuning"), PROMPT_TUNING("prompt-tuning");

        private final String method;

        Kind(String method) {
            this.method = method;
        }

        public String method() {
            return method;
        }
    }

    private final Kind kind;
    private final TransformerModel model;
    private final Module root;
    private final Module encoder;
    private final int numVirtualTokens;
    private final Map<String, Object> peftConfig;
    private boolean unloaded;

    private PromptLearningModel(Kind kind, TransformerModel model, Module root, Module encoder, int numVirtualTokens,
            Map<String, Object> peftConfig) {
        this.kind = kind;
        this.model = model;
        this.root = root;
        this.encoder = encoder;
        this.numVirtualTokens = numVirtualTokens;
        this.peftConfig = peftConfig;
    }

    /**
     * Adds {@code encoder} at {@code prompt_encoder.default} under {@code root}, freezes everything else and
     * hooks into {@code model}'s forward. Checks everything first: on error nothing has changed.
     */
    static PromptLearningModel attach(Kind kind, TransformerModel model, Module root, Module encoder, int numVirtualTokens,
            Map<String, Object> peftConfig) {
        requireNonNull(model, "model is null");
        requireNonNull(root, "root is null");
        if (root.hasChild(CONTAINER)) {
            throw new Peft4jException(kind.method() + ": the model already has a '" + CONTAINER
                    + "' (a prompt-learning method was applied before); apply one prompt-learning method per model");
        }
        model.forwardHooks(); // throws (before any change) when the model takes no hooks
        root.setTrainable(false);
        Container container = new Container();
        container.add(ADAPTER_NAME, encoder);
        root.addAdapterModule(CONTAINER, container);
        encoder.setTrainable(true);
        PromptLearningModel adaptation = new PromptLearningModel(kind, model, root, encoder, numVirtualTokens, peftConfig);
        model.forwardHooks().add(adaptation);
        return adaptation;
    }

    public Kind kind() {
        return kind;
    }

    public int numVirtualTokens() {
        return numVirtualTokens;
    }

    public Module encoder() {
        return encoder;
    }

    /** The PEFT {@code adapter_config.json} fields this adaptation writes. */
    public Map<String, Object> peftConfig() {
        return peftConfig;
    }

    // ---- the forward hook (PEFT's get_prompt) ---------------------------------------------------

    @Override
    public void beforeForward(ModelInput input, ForwardContext context) {
        if (unloaded) {
            return;
        }
        Shape ids = input.inputIds().getShape();
        long batch = ids.get(0);
        long length = ids.get(1);
        AttentionShape shape = model.attentionShape();
        if (numVirtualTokens + length > shape.maxPositions()) {
            throw new Peft4jException(kind.method() + ": num-virtual-tokens = " + numVirtualTokens + " plus the sequence length "
                    + length + " exceed the model's " + shape.maxPositions() + " positions; use fewer virtual tokens or shorter inputs"
                    + " (model.max-length)");
        }
        if (encoder instanceof PrefixEncoder prefix) {
            NDArray flat = prefix.prefix(context); // [P, 2L * kvDim]
            // PEFT: view(B, P, 2L, kvH, d).permute(2, 0, 3, 1, 4).split(2): layer i's key is 2i, its value 2i + 1
            NDArray perBatch = flat.reshape(numVirtualTokens, 2L * shape.layers(), shape.kvHeads(), shape.headDim()).expandDims(0)
                    .broadcast(new Shape(batch, numVirtualTokens, 2L * shape.layers(), shape.kvHeads(), shape.headDim()))
                    .transpose(2, 0, 3, 1, 4); // [2L, B, kvH, P, d]
            List<NDArray> keys = new ArrayList<>(shape.layers());
            List<NDArray> values = new ArrayList<>(shape.layers());
            for (int layer = 0; layer < shape.layers(); layer++) {
                keys.add(perBatch.get(2L * layer));
                values.add(perBatch.get(2L * layer + 1));
            }
            context.setAttribute(VirtualTokens.KEY, VirtualTokens.pastKeyValues(keys, values));
        } else {
            NDArray prompt = ((PromptEmbedding) encoder).prompt(context); // [P, H]
            NDArray perBatch = prompt.expandDims(0).broadcast(new Shape(batch, numVirtualTokens, prompt.getShape().get(1)));
            context.setAttribute(VirtualTokens.KEY, VirtualTokens.inputEmbeddings(perBatch));
        }
    }

    // ---- Adaptation ------------------------------------------------------------------------------

    @Override
    public String method() {
        return kind.method();
    }

    @Override
    public List<String> targetedModules() {
        return List.of(CONTAINER + "." + ADAPTER_NAME);
    }

    @Override
    public Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        encoder.namedParameters().forEach((name, p) -> out.put(CONTAINER + "." + ADAPTER_NAME + "." + name, p));
        return out;
    }

    /**
     * PEFT's {@code prompt_embeddings} {@code [P, width]} (computed through the projection when there is one,
     * detached, in a manager of its own that the next call frees) and, with the projection, the encoder's own tensors.
     */
    @Override
    public Map<String, NDArray> stateDict() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        if (encoder instanceof PrefixEncoder prefix && prefix.projection()) {
            NDManager export = exportManager();
            NDArray finalPrefix = prefix.prefix(ForwardContext.inference(export)).stopGradient();
            out.put(PEFT_KEY, finalPrefix);
            encoder.namedParameters().forEach((name, p) -> out.put(OWN_PREFIX + name, p.value()));
        } else {
            out.put(PEFT_KEY, encoder.child("embedding").parameter("weight").value());
        }
        return out;
    }

    private NDManager export;

    private NDManager exportManager() {
        if (export != null) {
            export.close();
        }
        export = model.manager().newSubManager();
        return export;
    }

    /**
     * Loads {@link #stateDict()}'s form. Without the projection: {@code prompt_embeddings}. With it: the
     * encoder's own tensors (PEFT's file alone cannot be loaded into the MLP; load it with
     * {@link PeftPromptFiles#load}, which builds the prefix without projection). Validates every name and
     * shape before anything changes.
     */
    @Override
    public void loadStateDict(Map<String, NDArray> state) {
        requireNonNull(state, "state is null");
        Map<Parameter, NDArray> plan = new LinkedHashMap<>();
        if (encoder instanceof PrefixEncoder prefix && prefix.projection()) {
            for (Map.Entry<String, Parameter> e : encoder.namedParameters().entrySet()) {
                NDArray value = state.get(OWN_PREFIX + e.getKey());
                if (value == null) {
                    throw new Peft4jException(kind.method() + ": the adapter has no '" + OWN_PREFIX + e.getKey() + "'"
                            + (state.containsKey(PEFT_KEY) ? " (only PEFT's final prompt_embeddings: it was saved without the"
                                    + " projection MLP; load it with prefix-projection = false)" : "") + "; tensors are " + state.keySet());
                }
                plan.put(e.getValue(), check(OWN_PREFIX + e.getKey(), value, e.getValue().shape()));
            }
        } else {
            NDArray value = state.get(PEFT_KEY);
            if (value == null) {
                throw new Peft4jException(kind.method() + ": the adapter has no '" + PEFT_KEY + "'; tensors are " + state.keySet());
            }
            Parameter weight = encoder.child("embedding").parameter("weight");
            plan.put(weight, check(PEFT_KEY, value, weight.shape()));
        }
        plan.forEach((p, v) -> {
            // copy into torch memory of the model's manager, keeping the trainable flag
            NDArray copy = v.toType(p.value().getDataType(), true);
            copy.attach(model.manager());
            p.setValue(copy);
        });
    }

    private NDArray check(String name, NDArray value, Shape expected) {
        if (!value.getShape().equals(expected)) {
            throw new Peft4jException(kind.method() + ": tensor '" + name + "' has shape " + value.getShape() + ", but this model needs "
                    + expected + " (" + describeExpected() + ")");
        }
        return value;
    }

    String describeExpected() {
        AttentionShape shape = model.attentionShape();
        return kind == Kind.PREFIX_TUNING
                ? numVirtualTokens + " virtual tokens x " + shape.layers() + " layers x 2 x " + shape.kvDim() + " (" + shape.describe() + ")"
                : numVirtualTokens + " virtual tokens x hidden " + shape.hidden();
    }

    @Override
    public void save(Path directory, TensorFiles files) {
        PeftPromptFiles.save(this, directory, files);
    }

    @Override
    public void load(Path directory, TensorFiles files) {
        PeftPromptFiles.loadInto(this, directory, files, model.manager());
    }

    /** Removes the hook and the encoder; the rest of the tree keeps its (frozen) flags. */
    @Override
    public void unload() {
        if (!unloaded) {
            model.forwardHooks().remove(this);
            root.removeAdapterModule(CONTAINER);
            unloaded = true;
            if (export != null) {
                export.close();
                export = null;
            }
        }
    }

    TransformerModel model() {
        return model;
    }

    /** {@code prompt_encoder}: PEFT's {@code ModuleDict}, by adapter name; run by the hook, not by the tree. */
    static final class Container extends Module {
        Container() {
            super(ModuleType.CONTAINER);
        }

        void add(String name, Module module) {
            addChild(name, module);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            throw new UnsupportedOperationException(CONTAINER + " is run by its method's forward hook");
        }
    }
}
