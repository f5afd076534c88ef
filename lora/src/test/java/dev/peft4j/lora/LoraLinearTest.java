package dev.peft4j.lora;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** LoRA's math against hand computation with plain tensors (PEFT's formulas). */
class LoraLinearTest {
    /** root.block.query: Linear 6 -> 5 with bias (or Conv1D-style [in, out] storage). */
    static Module tree(NDManager m, boolean fanInFanOut) {
        TestModels.Container root = new TestModels.Container() {
            @Override
            public NDList forward(NDList inputs, ForwardContext ctx) {
                return find("block.query").forward(inputs, ctx);
            }
        };
        root.add("block", new TestModels.Container()).add("query", TestModels.randomLinear(m, 6, 5, true, fanInFanOut, new Random(1)));
        return root;
    }

    static NDArray x(NDManager m) {
        return TestModels.randomArray(m, new Shape(3, 6), 1.0, new Random(2));
    }

    static void randomize(Parameter p, long seed) {
        p.setValue(TestModels.randomArray(p.value().getManager(), p.shape(), 0.3, new Random(seed)));
    }

    @Test
    void forwardIsBasePlusScaledLowRankUpdateAndRsloraScalesBySqrtR() {
        for (boolean rslora : new boolean[] {false, true}) {
            for (boolean fifo : new boolean[] {false, true}) {
                try (NDManager m = NDManager.newBaseManager()) {
                    Module root = tree(m, fifo);
                    Linear base = (Linear) root.find("block.query");
                    NDArray w = base.weightOutIn().duplicate(); // [5, 6]
                    NDArray b = base.parameter("bias").value().duplicate();
                    LoraModel lora = LoraModel.create(root, LoraConfig.builder().r(2).alpha(6).targetModules("query").useRslora(rslora).build(), null, 3);
                    LoraLinear layer = (LoraLinear) root.find("block.query");
                    randomize(layer.loraB("default").parameter("weight"), 4);
                    NDArray a = layer.loraA("default").weight(); // [2, 6]
                    NDArray bb = layer.loraB("default").weight(); // [5, 2]
                    double scaling = rslora ? 6 / Math.sqrt(2) : 3;
                    assertThat(layer.spec("default").scaling()).isEqualTo(scaling);
                    NDArray input = x(m);
                    NDArray expected = input.matMul(w.transpose()).add(b).add(input.matMul(a.transpose()).matMul(bb.transpose()).mul((float) scaling));
                    NDArray out = root.forward(new NDList(input), ForwardContext.inference(m)).singletonOrThrow();
                    assertThat(TestModels.maxAbsDiff(out, expected)).isLessThan(1e-5f);
                    assertThat(lora.targetedModules()).containsExactly("block.query");
                }
            }
        }
    }

    @Test
    void doraOutputIsMagnitudeTimesNormalisedAdaptedWeight() {
        for (boolean fifo : new boolean[] {false, true}) {
            try (NDManager m = NDManager.newBaseManager()) {
                Module root = tree(m, fifo);
                Linear base = (Linear) root.find("block.query");
                NDArray w = base.weightOutIn().duplicate();
                NDArray bias = base.parameter("bias").value().duplicate();
                LoraModel.create(root, LoraConfig.builder().r(2).alpha(4).targetModules("query").useDora(true).build(), null, 3);
                LoraLinear layer = (LoraLinear) root.find("block.query");
                // fresh magnitude = row norms of W (||W + s B A|| with B = 0), [out]
                assertThat(TestModels.maxAbsDiff(layer.magnitude("default").value(), w.norm(new int[] {1}))).isLessThan(1e-6f);
                randomize(layer.loraB("default").parameter("weight"), 5);
                randomize(layer.magnitude("default"), 6);
                NDArray adapted = w.add(layer.loraB("default").weight().matMul(layer.loraA("default").weight()).mul(2f)); // [5, 6]
                NDArray scale = layer.magnitude("default").value().div(adapted.norm(new int[] {1})); // [5]
                NDArray input = x(m);
                NDArray expected = input.matMul(adapted.transpose()).mul(scale).add(bias);
                NDArray out = root.forward(new NDList(input), ForwardContext.inference(m)).singletonOrThrow();
                assertThat(TestModels.maxAbsDiff(out, expected)).isLessThan(1e-5f);
            }
        }
    }

    @Test
    void kaimingInitIsUniformWithinOneOverSqrtInAndSeeded() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = LoraInit.loraA(m, LoraConfig.Init.KAIMING, 8, 384, 1);
            float[] v = a.toFloatArray();
            float bound = (float) (1 / Math.sqrt(384));
            float max = 0;
            double sumSq = 0;
            for (float f : v) {
                max = Math.max(max, Math.abs(f));
                sumSq += f * f;
            }
            assertThat(a.getShape()).isEqualTo(new Shape(8, 384));
            assertThat(max).isLessThanOrEqualTo(bound).isGreaterThan(0.95f * bound);
            // U(-b, b) has variance b^2 / 3
            assertThat(sumSq / v.length).isCloseTo(bound * bound / 3.0, org.assertj.core.data.Percentage.withPercentage(5));
            assertThat(LoraInit.loraA(m, LoraConfig.Init.KAIMING, 8, 384, 1).toFloatArray()).containsExactly(v);
            assertThat(LoraInit.loraA(m, LoraConfig.Init.KAIMING, 8, 384, 2).toFloatArray()).isNotEqualTo(v);
            float[] g = LoraInit.loraA(m, LoraConfig.Init.GAUSSIAN, 8, 384, 1).toFloatArray();
            double gs = 0;
            for (float f : g) {
                gs += f * f;
            }
            assertThat(Math.sqrt(gs / g.length)).isCloseTo(1.0 / 8, org.assertj.core.data.Percentage.withPercentage(5));
        }
    }

    @Test
    void loraBStartsAtZeroAndDropoutOnlyActsWhenTraining() {
        try (NDManager m = NDManager.newBaseManager()) {
            Module root = tree(m, false);
            LoraModel.create(root, LoraConfig.builder().r(2).alpha(4).dropout(0.5).targetModules("query").build(), null, 3);
            LoraLinear layer = (LoraLinear) root.find("block.query");
            assertThat(layer.loraB("default").weight().abs().sum().getFloat()).isZero();
            randomize(layer.loraB("default").parameter("weight"), 5);
            NDArray input = x(m);
            NDArray eval1 = root.forward(new NDList(input), ForwardContext.inference(m)).singletonOrThrow();
            NDArray eval2 = root.forward(new NDList(input), ForwardContext.inference(m)).singletonOrThrow();
            NDArray train = root.forward(new NDList(input), ForwardContext.training(m)).singletonOrThrow();
            assertThat(TestModels.maxAbsDiff(eval1, eval2)).isZero();
            assertThat(TestModels.maxAbsDiff(eval1, train)).isGreaterThan(1e-4f);
            assertThat(root.namedParameters().keySet()).containsExactly("block.query.base_layer.weight", "block.query.base_layer.bias",
                    "block.query.lora_A.default.weight", "block.query.lora_B.default.weight");
        }
    }
}
