package dev.peft4j.api.nn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

/** Dropout: rate, 1/(1-p) scaling, gradient = mask, same mask for the same seed, identity at inference. */
class DropoutTest {
    @Test
    void keepsOneMinusRateScaledAndTheGradientIsTheMask() {
        Engine.getInstance().setRandomSeed(5);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.ones(new Shape(200, 1000));
            x.setRequiresGradient(true);
            float[] y;
            float[] grad;
            try (NDManager step = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = new Dropout(0.1f).forward(x, ForwardContext.training(step));
                y = out.toFloatArray();
                gc.backward(out.sum());
            }
            try (NDArray g = x.getGradient()) {
                grad = g.toFloatArray();
            }
            int zeros = 0;
            for (int i = 0; i < y.length; i++) {
                if (y[i] == 0f) {
                    zeros++;
                } else {
                    assertThat(y[i]).isEqualTo(1f / 0.9f);
                }
                assertThat(grad[i]).isEqualTo(y[i]); // d(x * mask)/dx = mask, for x = 1
            }
            // 200,000 Bernoulli(0.1) draws: standard deviation of the fraction ~0.00067
            assertThat(zeros / 200_000.0).isBetween(0.097, 0.103);
        }
    }

    @Test
    void sameSeedSameMaskAndInferenceIsTheIdentity() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.ones(new Shape(64, 64), DataType.FLOAT16);
            Dropout dropout = new Dropout(0.5f);
            Engine.getInstance().setRandomSeed(11);
            float[] a = dropout.forward(x, ForwardContext.training(m)).toType(DataType.FLOAT32, false).toFloatArray();
            Engine.getInstance().setRandomSeed(11);
            float[] b = dropout.forward(x, ForwardContext.training(m)).toType(DataType.FLOAT32, false).toFloatArray();
            assertThat(a).containsExactly(b).contains(0f, 2f);
            assertThat(dropout.forward(x, ForwardContext.training(m)).getDataType()).isEqualTo(DataType.FLOAT16);
            assertThat(dropout.forward(x, ForwardContext.inference(m))).isSameAs(x);
        }
    }
}
