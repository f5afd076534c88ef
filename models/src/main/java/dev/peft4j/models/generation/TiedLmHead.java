package dev.peft4j.models.generation;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import java.util.Map;

/**
 * A language-model head tied to the input embedding ({@code tie_word_embeddings}): logits
 * {@code [..., V] = x [..., D] E^T} with {@code E [V, D]} the embedding's weight. Owns no parameter,
 * so the model's parameter count and state dict are HF's (which drop the tied {@code lm_head.weight}).
 *
 * <p>The embedding is looked up by path from the root at every call, so an adapter that wraps the
 * embedding module is seen (the weight is the first parameter named {@code weight} in its subtree,
 * depth-first, e.g. {@code base_layer.weight} of a wrapper).
 */
public final class TiedLmHead extends Module {
    private final Module root;
    private final String embeddingPath;

    public TiedLmHead(Module root, String embeddingPath) {
        super(ModuleType.HEAD);
        this.root = requireNonNull(root, "root is null");
        this.embeddingPath = requireNonNull(embeddingPath, "embeddingPath is null");
    }

    /** The tied embedding weight {@code [V, D]}. */
    public NDArray weight() {
        Module embedding = root.find(embeddingPath);
        for (Map.Entry<String, Parameter> e : embedding.namedParameters().entrySet()) {
            if (e.getKey().equals("weight") || e.getKey().endsWith(".weight")) {
                return e.getValue().value();
            }
        }
        throw new Peft4jException("tied lm_head: module '" + embeddingPath + "' has no weight; it has "
                + embedding.namedParameters().keySet());
    }

    public String embeddingPath() {
        return embeddingPath;
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        return ai.djl.nn.core.Linear.linear(x, weight(), null).singletonOrThrow();
    }

    @Override
    protected String extraDescription() {
        return " tied_to=" + embeddingPath;
    }
}
