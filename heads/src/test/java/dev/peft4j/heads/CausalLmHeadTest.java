package dev.peft4j.heads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TaskHeadFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CausalLmHeadTest {
    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = Engine.getInstance().newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    /** log p(target | row) for logits laid out [rows, classes]. */
    private static double logProb(float[] logits, int row, int classes, long target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
            max = Math.max(max, logits[row * classes + c]);
        }
        double sum = 0;
        for (int c = 0; c < classes; c++) {
            sum += Math.exp(logits[row * classes + c] - max);
        }
        return logits[row * classes + (int) target] - max - Math.log(sum);
    }

    @Test
    void lossIsShiftedMaskedMeanAndGradientReachesOnlyCountedPositions() {
        // B = 2, T = 3, V = 4; position t predicts labels[t + 1]
        int b = 2, t = 3, v = 4;
        float[] logits = new float[b * t * v];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) Math.sin(1.3 * i) * 2;
        }
        // row 0: labels 1 (never a target: nothing predicts position 0), 3, 2
        // row 1: prompt token masked, completion 0, padding -100
        long[] labels = {1, 3, 2, -100, 0, -100};
        NDArray x = manager.create(logits, new Shape(b, t, v));
        x.setRequiresGradient(true);
        try (NDManager step = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = ForwardContext.training(step);
            NDArray loss = Losses.causalLm(x, step.create(labels, new Shape(b, t)), ctx);
            gc.backward(loss);
            // counted: (row 0, pos 0 -> 3), (row 0, pos 1 -> 2), (row 1, pos 0 -> 0)
            double expected = -(logProb(logits, 0, v, 3) + logProb(logits, 1, v, 2) + logProb(logits, 3, v, 0)) / 3;
            assertThat(loss.getFloat()).isCloseTo((float) expected, within(1e-5f));
            System.gc();
            try (NDArray g = x.getGradient()) {
                float[] grad = g.toFloatArray();
                // the last position of each row and row 1's positions 1, 2 predict nothing counted
                for (int pos : new int[] {2, 4, 5}) {
                    for (int c = 0; c < v; c++) {
                        assertThat(grad[pos * v + c]).isZero();
                    }
                }
                // counted position: (softmax - onehot) / 3
                double sum = 0;
                for (int c = 0; c < v; c++) {
                    sum += Math.exp(logits[v + c]);
                }
                for (int c = 0; c < v; c++) {
                    double p = Math.exp(logits[v + c]) / sum;
                    assertThat(grad[v + c]).isCloseTo((float) ((p - (c == 2 ? 1 : 0)) / 3), within(1e-5f));
                }
            }
        }
    }

    @Test
    void allIgnoredGivesZeroNotNaN() {
        try (NDManager step = manager.newSubManager()) {
            ForwardContext ctx = ForwardContext.inference(step);
            NDArray loss = Losses.causalLm(step.randomNormal(new Shape(1, 3, 5)), step.create(new long[] {-100, -100, -100}, new Shape(1, 3)), ctx);
            assertThat(loss.getFloat()).isZero();
        }
    }

    @Test
    void mismatchedShapesAreAClearError() {
        try (NDManager step = manager.newSubManager()) {
            ForwardContext ctx = ForwardContext.inference(step);
            assertThatThrownBy(() -> Losses.causalLm(step.zeros(new Shape(2, 3, 5)), step.zeros(new Shape(2, 4), ai.djl.ndarray.types.DataType.INT64), ctx))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("(2, 3, 5)").hasMessageContaining("(2, 4)");
        }
    }

    @Test
    void headUsesTheDecodersLogitsAndOwnsNothing() {
        TinyBackbone decoder = new TinyBackbone(manager, 6, 6, true);
        TaskHead head = HeadsTest.head("causal-lm", "", decoder);
        assertThat(head.modules()).isEmpty();
        assertThat(head.labelKind()).isEqualTo(TaskHead.LabelKind.NONE);
        try (NDManager step = manager.newSubManager()) {
            ForwardContext ctx = ForwardContext.inference(step);
            ModelInput in = new ModelInput(step.create(new long[] {1, 2, 3}, new Shape(1, 3)), step.ones(new Shape(1, 3), ai.djl.ndarray.types.DataType.INT64));
            NDArray out = head.forward(decoder.forward(in, ctx), in, ctx);
            assertThat(out.getShape()).isEqualTo(new Shape(1, 3, 6));
            // logits equal the backbone's: row t is embedding row ids[t]
            float[] row2 = out.get("0, 2, :").toFloatArray();
            assertThat(row2[0]).isCloseTo((float) Math.sin(3 * 6 * 0.7), within(1e-6f));
        }
    }

    @Test
    void encoderBackboneAndUnknownKeysAreRejected() {
        TinyBackbone encoder = new TinyBackbone(manager, 6, 4);
        assertThatThrownBy(() -> HeadsTest.head("causal-lm", "", encoder)).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("causal-lm").hasMessageContaining("tiny/config.json").hasMessageContaining("'tiny'");
        @SuppressWarnings("unchecked")
        TaskHeadFactory<Object> f = (TaskHeadFactory<Object>) new HeadsPlugin().taskHeads().stream()
                .filter(x -> x.name().equals("causal-lm")).findFirst().orElseThrow();
        assertThatThrownBy(() -> f.parseConfig(ConfigFactory.parseString("num-labels = 3"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("num-labels");
    }

    @Test
    void lastPoolingTakesEachRowsLastRealTokenAndClsIsRejectedOnDecoders() {
        TinyBackbone decoder = new TinyBackbone(manager, 6, 6, true);
        assertThatThrownBy(() -> HeadsTest.head("sequence-classification", "num-labels = 2", decoder)).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("pooling = cls").hasMessageContaining("pooling = last");
        try (NDManager step = manager.newSubManager()) {
            ForwardContext ctx = ForwardContext.inference(step);
            // row 0: 3 real tokens (last id 4); row 1: 1 real token (id 5) then padding
            ModelInput in = new ModelInput(step.create(new long[] {1, 2, 4, 5, 0, 0}, new Shape(2, 3)),
                    step.create(new long[] {1, 1, 1, 1, 0, 0}, new Shape(2, 3)));
            NDArray pooled = Pooling.LAST.pool(decoder.forward(in, ctx), in, ctx);
            assertThat(pooled.getShape()).isEqualTo(new Shape(2, 6));
            float[] p = pooled.toFloatArray();
            for (int h = 0; h < 6; h++) {
                assertThat(p[h]).isCloseTo((float) Math.sin((4 * 6 + h) * 0.7), within(1e-6f));
                assertThat(p[6 + h]).isCloseTo((float) Math.sin((5 * 6 + h) * 0.7), within(1e-6f));
            }
            TaskHead head = HeadsTest.head("sequence-classification", "num-labels = 2, pooling = last", decoder);
            assertThat(head.forward(decoder.forward(in, ctx), in, ctx).getShape()).isEqualTo(new Shape(2, 2));
        }
    }
}
