package dev.peft4j.api.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import org.junit.jupiter.api.Test;

class ModuleTreeTest {
    /** A two-level toy: block.{query,value} linears feeding each other, looked up by name. */
    static final class Block extends Module {
        Block(NDManager m) {
            super(ModuleType.ATTENTION);
            addChild("query", new Linear(m, 4, 4, true));
            addChild("value", new Linear(m, 4, 2, false));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext ctx) {
            NDArray h = child("query").forward(inputs.singletonOrThrow(), ctx);
            return new NDList(child("value").forward(h, ctx));
        }
    }

    static final class Root extends Module {
        Root(NDManager m) {
            super(ModuleType.MODEL);
            addChild("embeddings", new Embedding(m, 10, 4));
            addChild("block", new Block(m));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext ctx) {
            return child("block").forward(child("embeddings").forward(inputs, ctx), ctx);
        }
    }

    @Test
    void namesAreDottedHuggingFaceStyleWithoutPrefixes() {
        try (NDManager m = NDManager.newBaseManager()) {
            Root root = new Root(m);
            assertThat(root.namedModules().keySet()).containsExactly("embeddings", "block", "block.query", "block.value");
            assertThat(root.namedParameters().keySet())
                    .containsExactly("embeddings.weight", "block.query.weight", "block.query.bias", "block.value.weight");
            assertThat(root.parameterCount()).isEqualTo(40 + 16 + 4 + 8);
            root.find("block").setTrainable(false);
            assertThat(root.trainableParameterCount()).isEqualTo(40);
            assertThat(root.find("block.query").type()).isEqualTo(ModuleType.LINEAR);
        }
    }

    @Test
    void replaceWrapsInPlaceAndForwardUsesTheReplacement() {
        try (NDManager m = NDManager.newBaseManager()) {
            Root root = new Root(m);
            Module old = root.replace("block.value", original -> new Module(ModuleType.ADAPTER) {
                {
                    addChild("base_layer", original);
                }

                @Override
                public NDList forward(NDList in, ForwardContext ctx) {
                    NDArray base = child("base_layer").forward(in, ctx).singletonOrThrow();
                    return new NDList(base.add(ctx.scalar(7f)));
                }
            });
            assertThat(old).isInstanceOf(Linear.class);
            assertThat(root.namedParameters()).containsKey("block.value.base_layer.weight");
            NDArray out = root.forward(new NDList(m.create(new long[] {1, 2})), ForwardContext.inference(m)).singletonOrThrow();
            assertThat(out.getShape()).isEqualTo(new Shape(2, 2));
            assertThat(out.toFloatArray()).containsOnly(7f); // zero weights + 7
        }
    }

    @Test
    void unknownPathNamesWhatExists() {
        try (NDManager m = NDManager.newBaseManager()) {
            Root root = new Root(m);
            assertThatThrownBy(() -> root.find("block.key"))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("block.key")
                    .hasMessageContaining("[query, value]");
        }
    }

    @Test
    void fanInFanOutLinearMatchesTransposedLinear() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.randomNormal(new Shape(3, 5));
            NDArray b = m.randomNormal(new Shape(3));
            Linear normal = new Linear(w.duplicate(), b.duplicate(), false);
            Linear conv1d = new Linear(w.transpose().duplicate(), b.duplicate(), true);
            NDArray x = m.randomNormal(new Shape(2, 5));
            ForwardContext ctx = ForwardContext.inference(m);
            assertThat(conv1d.inFeatures()).isEqualTo(5);
            assertThat(conv1d.outFeatures()).isEqualTo(3);
            NDArray diff = normal.forward(x, ctx).sub(conv1d.forward(x, ctx)).abs().max();
            assertThat(diff.getFloat()).isLessThan(1e-6f);
        }
    }
}
