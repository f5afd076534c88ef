package dev.peft4j.heads;

import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Embedding;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import ai.djl.ndarray.NDList;
import java.util.List;
import java.util.Map;

/** A test backbone: last hidden state = word embeddings of the input ids (hidden 4). */
final class TinyBackbone implements TransformerModel {
    static final class Root extends Module {
        Root(NDManager manager, int vocab, int hidden) {
            super(ModuleType.MODEL);
            addChild("embeddings", new Embedding(manager, vocab, hidden));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            return new NDList(child("embeddings").forward(inputs.singletonOrThrow(), context));
        }
    }

    private final NDManager manager;
    private final Root root;
    private final int hidden;
    private final boolean causal;

    TinyBackbone(NDManager manager, int vocab, int hidden) {
        this(manager, vocab, hidden, false);
    }

    /** {@code causal}: a decoder stand-in whose logits {@code [B, T, hidden]} are the embeddings themselves. */
    TinyBackbone(NDManager manager, int vocab, int hidden, boolean causal) {
        this.manager = manager;
        this.causal = causal;
        this.hidden = hidden;
        this.root = new Root(manager, vocab, hidden);
        float[] w = new float[vocab * hidden];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) Math.sin(i * 0.7);
        }
        root.find("embeddings").parameter("weight").setValue(manager.create(w, new ai.djl.ndarray.types.Shape(vocab, hidden)).duplicate());
    }

    @Override
    public ModelConfig config() {
        return new ModelConfig(Map.of("hidden_size", hidden, "model_type", "tiny"), "tiny/config.json");
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
        return causal;
    }

    @Override
    public ModelOutput forward(ModelInput input, ForwardContext context) {
        ai.djl.ndarray.NDArray hidden = root.forward(input.inputIds(), context);
        return new ModelOutput(hidden, null, causal ? hidden : null, List.of());
    }

    @Override
    public void close() {}
}
