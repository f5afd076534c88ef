package dev.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.nn.Embedding;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * PEFT's {@code PromptEmbedding} ({@code prompt_encoder.default}): child {@code embedding} {@code [P, hidden]},
 * the virtual tokens' input embeddings.
 */
public final class PromptEmbedding extends Module {
    private final int numVirtualTokens;

    PromptEmbedding(NDManager manager, int numVirtualTokens, long hidden) {
        super(ModuleType.EMBEDDINGS);
        this.numVirtualTokens = numVirtualTokens;
        addChild("embedding", new Embedding(manager, numVirtualTokens, hidden));
    }

    public int numVirtualTokens() {
        return numVirtualTokens;
    }

    /** {@code [P, hidden]} in the context's manager. */
    public NDArray prompt(ForwardContext context) {
        return child("embedding").forward(context.manager().arange(0, numVirtualTokens, 1, DataType.INT64), context);
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(prompt(context));
    }

    @Override
    protected String extraDescription() {
        return " virtual_tokens=" + numVirtualTokens;
    }
}
