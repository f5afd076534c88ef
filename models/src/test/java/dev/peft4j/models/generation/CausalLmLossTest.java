package dev.peft4j.models.generation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import org.junit.jupiter.api.Test;

class CausalLmLossTest {
    static final float[] LOGITS = {0.1f, 0.2f, 0.3f, 0.4f, 1.0f, -1.0f, 0.5f, 2.0f, 0.0f, 0.0f, 3.0f, -2.0f, 2.0f, 1.0f, 0.0f, -1.0f,
        0.3f, 0.3f, 0.3f, 0.9f, 5.0f, 1.0f, -1.0f, 0.0f};
    static final long[] LABELS = {7, 3, 2, 1, -100, 0};

    static double nll(int row, int pos, int target) {
        int base = (row * 3 + pos) * 4;
        double sum = 0;
        for (int k = 0; k < 4; k++) {
            sum += Math.exp(LOGITS[base + k]);
        }
        return Math.log(sum) - LOGITS[base + target];
    }

    @Test
    void meanShiftedCrossEntropyMatchesHandAndTorch() {
        // Counted: (row 0, pos 0) -> 3, (row 0, pos 1) -> 2, (row 1, pos 1) -> 0; (row 1, pos 0) -> -100 ignored.
        double hand = (nll(0, 0, 3) + nll(0, 1, 2) + nll(1, 1, 0)) / 3;
        try (NDManager m = NDManager.newBaseManager()) {
            ForwardContext ctx = ForwardContext.inference(m);
            NDArray logits = m.create(LOGITS, new Shape(2, 3, 4));
            NDArray labels = m.create(LABELS, new Shape(2, 3));
            float loss = CausalLmLoss.compute(logits, labels, ctx).getFloat();
            assertThat((double) loss).isCloseTo(hand, within(1e-6));
            // torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 4), labels[:, 1:].reshape(-1)) in torch 2.7.1
            assertThat(loss).isCloseTo(1.603643536567688f, within(1e-6f));
            assertThat(CausalLmLoss.perplexity(loss)).isCloseTo(Math.exp(1.603643536567688), within(1e-5));
            var sums = CausalLmLoss.sumAndCount(logits, labels, ctx);
            assertThat(sums.get(1).getFloat()).isEqualTo(3f);
        }
    }

    @Test
    void gradientIsSoftmaxMinusOneHotOverCount() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray logits = m.create(LOGITS, new Shape(2, 3, 4));
            logits.setRequiresGradient(true);
            NDArray labels = m.create(LABELS, new Shape(2, 3));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                System.gc();
                NDArray loss = CausalLmLoss.compute(logits, labels, ForwardContext.training(m));
                gc.backward(loss);
            }
            float[] grad = logits.getGradient().toFloatArray();
            // (row 0, pos 1) predicts label 2: d/dlogit_k = (softmax_k - [k == 2]) / 3
            double sum = 0;
            for (int k = 0; k < 4; k++) {
                sum += Math.exp(LOGITS[4 + k]);
            }
            for (int k = 0; k < 4; k++) {
                double expected = (Math.exp(LOGITS[4 + k]) / sum - (k == 2 ? 1 : 0)) / 3;
                assertThat((double) grad[4 + k]).isCloseTo(expected, within(1e-6));
            }
            // ignored (row 1, pos 0) and the last positions (nothing to predict) get no gradient
            for (int idx : new int[] {12, 13, 14, 15, 8, 9, 10, 11, 20, 21, 22, 23}) {
                assertThat(grad[idx]).isEqualTo(0f);
            }
        }
    }

    @Test
    void allIgnoredGivesZeroAndBadShapesAreErrors() {
        try (NDManager m = NDManager.newBaseManager()) {
            ForwardContext ctx = ForwardContext.inference(m);
            NDArray logits = m.create(LOGITS, new Shape(2, 3, 4));
            NDArray ignored = m.full(new Shape(2, 3), -100L, DataType.INT64);
            assertThat(CausalLmLoss.compute(logits, ignored, ctx).getFloat()).isEqualTo(0f);
            assertThatThrownBy(() -> CausalLmLoss.compute(logits, m.create(new long[] {1, 2}, new Shape(1, 2)), ctx))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("[batch, seq, vocab]");
        }
    }
}
