package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.peft4j.api.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdamWTest {
    /** Reference AdamW in double precision, PyTorch's update order. */
    static double[] reference(double[] w, double[] grad, int steps, double lr, double wd, boolean decay) {
        double b1 = 0.9;
        double b2 = 0.999;
        double eps = 1e-8;
        double[] m = new double[w.length];
        double[] v = new double[w.length];
        double[] x = w.clone();
        for (int t = 1; t <= steps; t++) {
            for (int i = 0; i < x.length; i++) {
                double g = grad[i] * x[i]; // loss = sum(0.5 * c * w^2) -> grad = c * w
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                if (decay) {
                    x[i] *= 1 - lr * wd;
                }
                double mh = m[i] / (1 - Math.pow(b1, t));
                double vh = v[i] / (1 - Math.pow(b2, t));
                x[i] -= lr * mh / (Math.sqrt(vh) + eps);
            }
        }
        return x;
    }

    @Test
    void matchesReferenceAdamWWithDecoupledDecayAndZeroesGradients() {
        double[] w0 = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5};
        double[] c = {1.0, 2.0, 0.5, 3.0, 1.0, 0.2};
        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            float[] wf = new float[6];
            for (int i = 0; i < 6; i++) {
                wf[i] = (float) w0[i];
            }
            Parameter weight = new Parameter("weight", manager.create(wf, new Shape(2, 3)).duplicate(), true);
            Parameter bias = new Parameter("bias", manager.create(wf, new Shape(6)).duplicate(), true);
            Map<String, Parameter> params = new LinkedHashMap<>();
            params.put("classifier.weight", weight);
            params.put("classifier.bias", bias);
            NDArray cw = manager.create(new float[] {1f, 2f, 0.5f, 3f, 1f, 0.2f}, new Shape(2, 3));
            NDArray cb = manager.create(new float[] {1f, 2f, 0.5f, 3f, 1f, 0.2f});
            try (AdamW adam = new AdamW(params, manager, 0.9, 0.999, 1e-8, 0.1)) {
                assertThat(adam.decayed()).containsExactly("classifier.weight");
                for (int step = 0; step < 5; step++) {
                    try (NDManager s = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray half = s.full(new Shape(), 0.5f);
                        NDArray loss = weight.value().mul(weight.value()).mul(cw).mul(half).sum()
                                .add(bias.value().mul(bias.value()).mul(cb).mul(half).sum());
                        gc.backward(loss);
                    }
                    System.gc();
                    adam.step(0.05);
                    try (NDArray g = weight.value().getGradient()) {
                        assertThat(g.abs().sum().getFloat()).isZero();
                    }
                }
                double[] expectW = reference(w0, c, 5, 0.05, 0.1, true);
                double[] expectB = reference(w0, c, 5, 0.05, 0.1, false);
                float[] gotW = weight.value().toFloatArray();
                float[] gotB = bias.value().toFloatArray();
                for (int i = 0; i < 6; i++) {
                    assertThat((double) gotW[i]).isCloseTo(expectW[i], within(1e-5));
                    assertThat((double) gotB[i]).isCloseTo(expectB[i], within(1e-5));
                }
                assertThat(gotW[0]).isNotEqualTo(gotB[0]); // decay made a difference
                assertThat(adam.stepCount()).isEqualTo(5);
            }
        }
    }

    @Test
    void clippingScalesToTheMaximumGlobalNorm() {
        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            Parameter a = new Parameter("a", manager.create(new float[] {1f, 1f}).duplicate(), true);
            Parameter b = new Parameter("b", manager.create(new float[] {1f}).duplicate(), true);
            Map<String, Parameter> params = new LinkedHashMap<>();
            params.put("a", a);
            params.put("b", b);
            try (AdamW adam = new AdamW(params, manager, 0.9, 0.999, 1e-8, 0.0)) {
                try (NDManager s = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    // grads: a -> (3, 4)... use loss = 3 a0 + 4 a1 + 12 b -> norm 13
                    NDArray loss = a.value().mul(s.create(new float[] {3f, 4f})).sum().add(b.value().mul(s.create(new float[] {12f})).sum());
                    gc.backward(loss);
                }
                assertThat(adam.clipGradients(1.0)).isCloseTo(13.0, within(1e-5));
                assertThat(adam.clipGradients(0)).isCloseTo(1.0, within(1e-5));
                try (NDArray g = b.value().getGradient()) {
                    assertThat(g.getFloat()).isCloseTo(12f / 13f, within(1e-5f));
                }
            }
        }
    }

    @Test
    void schedulesFollowHuggingFace() {
        LearningRateSchedule linear = new LearningRateSchedule("linear", 1.0, 10, 110);
        assertThat(linear.at(0)).isEqualTo(0.0);
        assertThat(linear.at(5)).isEqualTo(0.5);
        assertThat(linear.at(10)).isEqualTo(1.0);
        assertThat(linear.at(60)).isCloseTo(0.5, within(1e-12));
        assertThat(linear.at(110)).isEqualTo(0.0);
        LearningRateSchedule cosine = new LearningRateSchedule("cosine", 2.0, 0, 100);
        assertThat(cosine.at(50)).isCloseTo(1.0, within(1e-12));
        assertThat(cosine.at(100)).isCloseTo(0.0, within(1e-12));
        assertThat(new LearningRateSchedule("constant", 3.0, 2, 100).at(99)).isEqualTo(3.0);
    }

    /**
     * Parameter groups: x trains at a quarter of the rate (decay scaled with it, as PyTorch's per-group lr does);
     * y is inactive (frozen, gradual unfreezing) for 3 updates, stays bit-identical, then trains with its own step
     * count: its 2 updates are exactly a fresh AdamW's first 2 (bias correction from its own step 1).
     */
    @Test
    void groupsScaleTheRateAndAnInactiveParameterStartsItsOwnStepCount() {
        double[] w0 = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5};
        double[] c = {1.0, 2.0, 0.5, 3.0, 1.0, 0.2};
        float[] wf = new float[6];
        for (int i = 0; i < 6; i++) {
            wf[i] = (float) w0[i];
        }
        try (NDManager manager = Engine.getInstance().newBaseManager()) {
            Parameter x = new Parameter("weight", manager.create(wf, new Shape(2, 3)).duplicate(), true);
            Parameter y = new Parameter("weight", manager.create(wf, new Shape(2, 3)).duplicate(), true);
            Map<String, Parameter> params = new LinkedHashMap<>();
            params.put("x.weight", x);
            params.put("y.weight", y);
            NDArray cw = manager.create(new float[] {1f, 2f, 0.5f, 3f, 1f, 0.2f}, new Shape(2, 3));
            try (AdamW adam = new AdamW(params, manager, 0.9, 0.999, 1e-8, 0.1)) {
                adam.setLearningRateScales(Map.of("x.weight", 0.25, "y.weight", 1.0));
                assertThat(adam.learningRate("x.weight", 0.05)).isEqualTo(0.0125);
                assertThat(adam.learningRate("y.weight", 0.05)).isEqualTo(0.05);
                y.setTrainable(false);
                adam.setActive(java.util.List.of("x.weight"));
                for (int step = 0; step < 5; step++) {
                    if (step == 3) {
                        y.setTrainable(true);
                        adam.setActive(params.keySet());
                    }
                    try (NDManager s = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray half = s.full(new Shape(), 0.5f);
                        NDArray loss = x.value().mul(x.value()).mul(cw).mul(half).sum().add(y.value().mul(y.value()).mul(cw).mul(half).sum());
                        gc.backward(loss);
                    }
                    adam.step(0.05);
                    if (step == 2) {
                        assertThat(y.value().toFloatArray()).containsExactly(wf);
                    }
                }
                double[] expectX = reference(w0, c, 5, 0.05 * 0.25, 0.1, true);
                double[] expectY = reference(w0, c, 2, 0.05, 0.1, true);
                float[] gotX = x.value().toFloatArray();
                float[] gotY = y.value().toFloatArray();
                for (int i = 0; i < 6; i++) {
                    assertThat((double) gotX[i]).isCloseTo(expectX[i], within(1e-6));
                    assertThat((double) gotY[i]).isCloseTo(expectY[i], within(1e-6));
                }
                assertThat(adam.stepCount()).isEqualTo(5);
                assertThat(adam.stepCount("x.weight")).isEqualTo(5);
                assertThat(adam.stepCount("y.weight")).isEqualTo(2);
                Map<String, NDArray> state = adam.state();
                assertThat(state.get("y.weight.step").toLongArray()).containsExactly(2L);
                try (AdamW restored = new AdamW(params, manager, 0.9, 0.999, 1e-8, 0.1)) {
                    restored.load(state, 5);
                    assertThat(restored.stepCount("y.weight")).isEqualTo(2);
                    assertThat(restored.stepCount("x.weight")).isEqualTo(5);
                    // a checkpoint from before per-parameter counts: every parameter had the global count
                    Map<String, NDArray> old = new LinkedHashMap<>(state);
                    old.keySet().removeIf(k -> k.endsWith(".step"));
                    restored.load(old, 5);
                    assertThat(restored.stepCount("y.weight")).isEqualTo(5);
                }
            }
        }
    }
}
