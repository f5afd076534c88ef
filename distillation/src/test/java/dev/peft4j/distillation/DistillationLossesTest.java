package dev.peft4j.distillation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Each loss against PyTorch's own function on fixed tensors (value and gradient with respect to the
 * student, to 1e-6), from {@code kd-loss-fixtures.json}, made by {@code tools/distillation/make_loss_fixtures.py}
 * (float64, so that the comparison tests the formula rather than float32 rounding).
 */
class DistillationLossesTest {
    private static final double TOLERANCE = 1e-6;
    private static JsonObject fixtures;
    private NDManager manager;

    @BeforeAll
    static void load() throws IOException {
        try (InputStream in = DistillationLossesTest.class.getResourceAsStream("/kd-loss-fixtures.json")) {
            fixtures = JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8)).getAsJsonObject();
        }
    }

    @BeforeEach
    void setUp() {
        manager = Engine.getInstance().newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    private NDArray tensor(JsonObject inputs, String key) {
        JsonArray values = inputs.getAsJsonArray(key);
        JsonArray shape = inputs.getAsJsonArray("shape");
        double[] d = new double[values.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = values.get(i).getAsDouble();
        }
        long[] dims = new long[shape.size()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = shape.get(i).getAsLong();
        }
        if (key.equals("labels") || key.equals("mask")) {
            long[] l = new long[d.length];
            for (int i = 0; i < l.length; i++) {
                l[i] = (long) d[i];
            }
            Shape s = key.equals("labels") && dims.length == 2 ? new Shape(dims[0]) : new Shape(dims[0], dims[1]);
            return manager.create(l, s);
        }
        return manager.create(d, new Shape(dims)).duplicate();
    }

    /** Runs {@code loss} on a fresh copy of the student with gradients, and checks the value and the gradient. */
    private void check(NDArray student, Function<ForwardContext, Function<NDArray, NDArray>> loss, double expected, JsonArray expectedGrad) {
        NDArray x = student.duplicate();
        x.setRequiresGradient(true);
        try (NDManager step = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = ForwardContext.training(step);
            NDArray value = loss.apply(ctx).apply(x);
            assertThat(value.getShape().dimension()).isZero();
            gc.backward(value);
            assertThat(value.toType(DataType.FLOAT64, false).getDouble()).isCloseTo(expected, within(TOLERANCE));
            System.gc();
            try (NDArray g = x.getGradient()) {
                double[] grad = g.toType(DataType.FLOAT64, false).toDoubleArray();
                assertThat(grad).hasSize(expectedGrad.size());
                for (int i = 0; i < grad.length; i++) {
                    assertThat(grad[i]).as("gradient[%d]", i).isCloseTo(expectedGrad.get(i).getAsDouble(), within(TOLERANCE));
                }
            }
        }
    }

    @Test
    void softTargetKlEqualsTorchKlDivBatchmeanTimesTSquaredAndMixesTheTaskLossByAlpha() {
        JsonObject in = fixtures.getAsJsonObject("soft_inputs");
        NDArray s = tensor(in, "student");
        NDArray t = tensor(in, "teacher");
        NDArray y = tensor(in, "labels");
        int checked = 0;
        for (Map.Entry<String, com.google.gson.JsonElement> e : fixtures.entrySet()) {
            if (!e.getKey().startsWith("soft_T")) {
                continue;
            }
            JsonObject c = e.getValue().getAsJsonObject();
            float temperature = c.get("temperature").getAsFloat();
            float alpha = c.get("alpha").getAsFloat();
            check(s, ctx -> x -> DistillationLosses.softTargetKl(x, t, temperature, ctx), c.get("kd").getAsDouble(), c.getAsJsonArray("kd_grad"));
            // the mixed loss uses the same cross-entropy torch's F.cross_entropy computes
            check(s, ctx -> x -> SoftTargetKlObjective.mix(DistillationLosses.softTargetKl(x, t, temperature, ctx), crossEntropy(x, y, ctx),
                    alpha, ctx), c.get("mixed").getAsDouble(), c.getAsJsonArray("mixed_grad"));
            checked++;
        }
        assertThat(checked).isEqualTo(3);
    }

    /** Mean cross-entropy (torch's F.cross_entropy), written out here to keep heads out of this module's dependencies. */
    private static NDArray crossEntropy(NDArray logits, NDArray labels, ForwardContext ctx) {
        NDArray target = labels.oneHot((int) logits.getShape().get(1)).toType(logits.getDataType(), false);
        return logits.logSoftmax(-1).mul(target).sum().neg().div(ctx.scalar(logits.getShape().get(0)));
    }

    @Test
    void tokenKlEqualsTorchKlDivOverTheCountedPositionsWithMinus100Ignored() {
        JsonObject in = fixtures.getAsJsonObject("token_inputs");
        NDArray s = tensor(in, "student");
        NDArray t = tensor(in, "teacher");
        NDArray labels = tensor(in, "labels");
        int checked = 0;
        for (Map.Entry<String, com.google.gson.JsonElement> e : fixtures.entrySet()) {
            if (!e.getKey().startsWith("token_T")) {
                continue;
            }
            JsonObject c = e.getValue().getAsJsonObject();
            float temperature = c.get("temperature").getAsFloat();
            boolean shift = c.get("shift").getAsBoolean();
            check(s, ctx -> x -> DistillationLosses.tokenKl(x, t, labels, temperature, shift, ctx), c.get("kd").getAsDouble(),
                    c.getAsJsonArray("kd_grad"));
            checked++;
        }
        assertThat(checked).isEqualTo(3);
    }

    @Test
    void tokenKlGivesNoGradientToIgnoredPositions() {
        JsonObject in = fixtures.getAsJsonObject("token_inputs");
        NDArray s = tensor(in, "student");
        NDArray t = tensor(in, "teacher");
        NDArray labels = tensor(in, "labels");
        NDArray x = s.duplicate();
        x.setRequiresGradient(true);
        try (NDManager step = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(DistillationLosses.tokenKl(x, t, labels, 1f, true, ForwardContext.training(step)));
            try (NDArray g = x.getGradient()) {
                // row 0: labels [-100, -100, 3, 4, 1] -> position 0 predicts label[1] = -100: no gradient; the last position predicts nothing
                assertThat(g.get("0, 0, :").abs().sum().toType(DataType.FLOAT64, false).getDouble()).isZero();
                assertThat(g.get("0, 4, :").abs().sum().toType(DataType.FLOAT64, false).getDouble()).isZero();
                assertThat(g.get("0, 1, :").abs().sum().toType(DataType.FLOAT64, false).getDouble()).isGreaterThan(1e-3);
            }
        }
    }

    @Test
    void hiddenStateMseAndCosineEqualTorchOverTheRealTokens() {
        JsonObject in = fixtures.getAsJsonObject("hidden_inputs");
        NDArray s = tensor(in, "student");
        NDArray t = tensor(in, "teacher");
        NDArray mask = tensor(in, "mask");
        JsonObject mse = fixtures.getAsJsonObject("hidden_mse");
        JsonObject cosine = fixtures.getAsJsonObject("hidden_cosine");
        check(s, ctx -> x -> DistillationLosses.maskedMse(x, t, mask, ctx), mse.get("loss").getAsDouble(), mse.getAsJsonArray("grad"));
        check(s, ctx -> x -> DistillationLosses.maskedCosine(x, t, mask, ctx), cosine.get("loss").getAsDouble(), cosine.getAsJsonArray("grad"));
    }

    @Test
    void theTeacherGetsNoGradient() {
        JsonObject in = fixtures.getAsJsonObject("soft_inputs");
        NDArray s = tensor(in, "student");
        NDArray t = tensor(in, "teacher");
        t.setRequiresGradient(true);
        NDArray x = s.duplicate();
        x.setRequiresGradient(true);
        try (NDManager step = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            gc.backward(DistillationLosses.softTargetKl(x, t, 2f, ForwardContext.training(step)));
            try (NDArray g = t.getGradient()) {
                assertThat(g.abs().sum().toType(DataType.FLOAT64, false).getDouble()).isZero();
            }
        }
    }

    @Test
    void mismatchedShapesAreRefusedWithBothShapes() {
        try (NDManager step = manager.newSubManager()) {
            ForwardContext ctx = ForwardContext.inference(step);
            assertThatThrownBy(() -> DistillationLosses.softTargetKl(step.zeros(new Shape(4, 3)), step.zeros(new Shape(4, 5)), 1f, ctx))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("(4, 3)").hasMessageContaining("(4, 5)");
            assertThatThrownBy(() -> DistillationLosses.tokenKl(step.zeros(new Shape(2, 5, 7)), step.zeros(new Shape(2, 5, 9)),
                    step.zeros(new Shape(2, 5), DataType.INT64), 1f, true, ctx))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("(2, 5, 9)").hasMessageContaining("same vocabulary");
            assertThatThrownBy(() -> DistillationLosses.maskedMse(step.zeros(new Shape(2, 5, 4)), step.zeros(new Shape(2, 5, 8)),
                    step.ones(new Shape(2, 5), DataType.INT64), ctx))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("projection");
        }
    }

    private NDArray attentionTensor(JsonObject in, String key, long heads) {
        JsonArray values = in.getAsJsonArray(key);
        JsonArray shape = in.getAsJsonArray("shape");
        double[] d = new double[values.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = values.get(i).getAsDouble();
        }
        long b = shape.get(0).getAsLong();
        long t = shape.get(2).getAsLong();
        return manager.create(d, new Shape(b, heads, t, t)).duplicate();
    }

    @Test
    void attentionKlAndMseEqualTorchOverRealQueriesAndKeysAlsoAcrossHeadCounts() {
        JsonObject in = fixtures.getAsJsonObject("attention_inputs");
        NDArray s = attentionTensor(in, "student", 2);
        NDArray t = attentionTensor(in, "teacher", 2);
        NDArray t4 = attentionTensor(in, "teacher4", 4);
        JsonArray m = in.getAsJsonArray("mask");
        long[] mask = new long[m.size()];
        for (int i = 0; i < mask.length; i++) {
            mask[i] = m.get(i).getAsLong();
        }
        NDArray attentionMask = manager.create(mask, new Shape(s.getShape().get(0), s.getShape().get(2)));
        JsonObject kl = fixtures.getAsJsonObject("attention_kl");
        check(s, ctx -> x -> DistillationLosses.attentionKl(x, t, attentionMask, ctx), kl.get("loss").getAsDouble(), kl.getAsJsonArray("grad"));
        JsonObject mse = fixtures.getAsJsonObject("attention_mse");
        check(s, ctx -> x -> DistillationLosses.attentionMse(x, t, attentionMask, ctx), mse.get("loss").getAsDouble(), mse.getAsJsonArray("grad"));
        JsonObject klHeads = fixtures.getAsJsonObject("attention_kl_heads");
        check(s, ctx -> x -> DistillationLosses.attentionKl(x, t4, attentionMask, ctx), klHeads.get("loss").getAsDouble(),
                klHeads.getAsJsonArray("grad"));
        JsonObject mseHeads = fixtures.getAsJsonObject("attention_mse_heads");
        check(s, ctx -> x -> DistillationLosses.attentionMse(x, t4, attentionMask, ctx), mseHeads.get("loss").getAsDouble(),
                mseHeads.getAsJsonArray("grad"));
        // maps of other positions (a prompt-tuned student) are refused, naming both shapes
        try (NDManager step = manager.newSubManager()) {
            NDArray longer = step.ones(new Shape(2, 2, 6, 6));
            assertThatThrownBy(() -> DistillationLosses.attentionKl(longer, t, attentionMask, ForwardContext.inference(step)))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("(2, 2, 6, 6)").hasMessageContaining("(2, 2, 4, 4)");
        }
    }
}
