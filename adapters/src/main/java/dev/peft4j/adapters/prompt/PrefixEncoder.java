package dev.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.model.AttentionShape;
import dev.peft4j.api.nn.Embedding;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import java.util.Random;

/**
 * PEFT's {@code PrefixEncoder} ({@code prompt_encoder.default}): {@code embedding} {@code [P, layers * 2 * kvDim]}
 * or, with the projection, {@code embedding} {@code [P, kvDim]} and {@code transform} =
 * {@code Linear(kvDim, hidden) -> tanh -> Linear(hidden, layers * 2 * kvDim)} (children {@code 0}, {@code 1}, {@code 2},
 * as PEFT's {@code Sequential}). {@code kvDim = kvHeads * headDim} (PEFT's {@code token_dim}, with its grouped-query rule).
 */
public final class PrefixEncoder extends Module {
    private final int numVirtualTokens;
    private final AttentionShape shape;
    private final boolean projection;

    PrefixEncoder(NDManager manager, AttentionShape shape, int numVirtualTokens, boolean projection, int encoderHiddenSize, long seed) {
        super(ModuleType.EMBEDDINGS);
        this.numVirtualTokens = numVirtualTokens;
        this.shape = shape;
        this.projection = projection;
        Random random = new Random(seed);
        long width = (long) shape.layers() * 2 * shape.kvDim();
        if (projection) {
            int hidden = encoderHiddenSize > 0 ? encoderHiddenSize : shape.kvDim();
            Embedding embedding = addChild("embedding", new Embedding(manager, numVirtualTokens, shape.kvDim()));
            Init.normal(embedding.parameter("weight"), random, manager);
            Mlp transform = addChild("transform", new Mlp(manager, shape.kvDim(), hidden, width));
            transform.initialise(random, manager);
        } else {
            Embedding embedding = addChild("embedding", new Embedding(manager, numVirtualTokens, width));
            Init.normal(embedding.parameter("weight"), random, manager);
        }
    }

    public int numVirtualTokens() {
        return numVirtualTokens;
    }

    public AttentionShape shape() {
        return shape;
    }

    public boolean projection() {
        return projection;
    }

    /** The prefix {@code [P, layers * 2 * kvDim]}, in the context's manager (PEFT's {@code prompt_encoder(prompt_tokens)}). */
    public NDArray prefix(ForwardContext context) {
        NDArray tokens = context.manager().arange(0, numVirtualTokens, 1, DataType.INT64);
        NDArray embedded = child("embedding").forward(tokens, context);
        return projection ? child("transform").forward(embedded, context) : embedded;
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(prefix(context));
    }

    @Override
    protected String extraDescription() {
        return " virtual_tokens=" + numVirtualTokens + (projection ? " projection" : "");
    }

    /** PEFT's {@code transform}: {@code 0} Linear, {@code 1} tanh, {@code 2} Linear. */
    static final class Mlp extends Module {
        Mlp(NDManager manager, long in, long hidden, long out) {
            super(ModuleType.CONTAINER);
            addChild("0", new Linear(manager, in, hidden, true));
            addChild("1", new Tanh());
            addChild("2", new Linear(manager, hidden, out, true));
        }

        void initialise(Random random, NDManager manager) {
            Init.linear((Linear) child("0"), random, manager);
            Init.linear((Linear) child("2"), random, manager);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            return new NDList(forward(inputs.singletonOrThrow(), context));
        }

        @Override
        public NDArray forward(NDArray x, ForwardContext context) {
            NDArray h = child("0").forward(x, context);
            return child("2").forward(child("1").forward(h, context), context);
        }
    }

    /** {@code torch.nn.Tanh}: no parameters, kept in the tree for PEFT's numbering. */
    static final class Tanh extends Module {
        Tanh() {
            super(ModuleType.of("activation"));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            return new NDList(forward(inputs.singletonOrThrow(), context));
        }

        @Override
        public NDArray forward(NDArray x, ForwardContext context) {
            return x.tanh();
        }
    }
}
