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
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.spi.Objective.Need;
import dev.peft4j.api.spi.ObjectiveFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.PluginContext;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The factories as the host uses them: discovery, recorded defaults, every key mapped, bad input, created objectives. */
class DistillationPluginTest {
    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = Engine.getInstance().newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    @SuppressWarnings("unchecked")
    static <C> ObjectiveFactory<C> factory(String name) {
        return (ObjectiveFactory<C>) new DistillationPlugin().objectives().stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow();
    }

    static Config section(String name, String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.objectives." + name));
    }

    static <C> C parse(String name, String overrides) {
        ObjectiveFactory<C> f = factory(name);
        return f.parseConfig(section(name, overrides));
    }

    static Objective create(String name, String overrides, PluginContext context) {
        ObjectiveFactory<Object> f = factory(name);
        return f.create(f.parseConfig(section(name, overrides)), context);
    }

    @Test
    void serviceLoaderFindsThePluginWithItsFourObjectives() {
        List<String> names = ServiceLoader.load(Peft4jPlugin.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p instanceof DistillationPlugin).flatMap(p -> p.objectives().stream()).map(ObjectiveFactory::name).toList();
        assertThat(names).containsExactly("soft-target-kl", "hidden-state", "token-kl", "attention");
        assertThat(new DistillationPlugin().objectives()).allSatisfy(f -> assertThat(f.description()).isNotBlank());
    }

    @Test
    void recordedDefaults() {
        assertThat((SoftTargetConfig) parse("soft-target-kl", "")).isEqualTo(new SoftTargetConfig(2f, 0.5f));
        assertThat((TokenKlConfig) parse("token-kl", "")).isEqualTo(new TokenKlConfig(1f, 0.5f, true));
        assertThat((HiddenStateConfig) parse("hidden-state", "")).isEqualTo(new HiddenStateConfig("mse", List.of(), List.of(), "auto", 0.02f));
    }

    @Test
    void everyKeyIsMapped() {
        assertThat((SoftTargetConfig) parse("soft-target-kl", "temperature = 4, alpha = 0.9")).isEqualTo(new SoftTargetConfig(4f, 0.9f));
        assertThat((TokenKlConfig) parse("token-kl", "temperature = 2, alpha = 1, shift = false")).isEqualTo(new TokenKlConfig(2f, 1f, false));
        assertThat((HiddenStateConfig) parse("hidden-state",
                "loss = cosine, student-layers = [2, 4], teacher-layers = [4, 8], projection = never, initializer-range = 0.1"))
                .isEqualTo(new HiddenStateConfig("cosine", List.of(2, 4), List.of(4, 8), "never", 0.1f));
    }

    @Test
    void temperatureZeroOrNegativeIsRefusedNamingKeyAndValue() {
        for (String name : List.of("soft-target-kl", "token-kl")) {
            for (String bad : List.of("0", "-1.5")) {
                assertThatThrownBy(() -> parse(name, "temperature = " + bad)).isInstanceOf(InvalidConfigException.class)
                        .hasMessageContaining("temperature").hasMessageContaining("is " + bad).hasMessageContaining("(0, 1000]");
            }
        }
        assertThatThrownBy(() -> parse("soft-target-kl", "alpha = 1.5")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("alpha").hasMessageContaining("1.5");
        assertThatThrownBy(() -> parse("soft-target-kl", "temprature = 3")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("temprature").hasMessageContaining("temperature");
    }

    @Test
    void layerMapOfUnequalLengthsOrNegativeIndicesIsRefused() {
        assertThatThrownBy(() -> parse("hidden-state", "student-layers = [1, 2], teacher-layers = [4]")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("teacher-layers").hasMessageContaining("[4]").hasMessageContaining("[1, 2]");
        assertThatThrownBy(() -> parse("hidden-state", "student-layers = [-1], teacher-layers = [4]")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("student-layers").hasMessageContaining("-1");
        assertThatThrownBy(() -> parse("hidden-state", "loss = l1")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("loss").hasMessageContaining("'l1'").hasMessageContaining("[mse, cosine]");
    }

    @Test
    void attentionLayerMapIsCheckedAgainstBothModelsAndDefaultsToTheLastLayers() {
        PluginContext context = FakeModels.context(FakeModels.model(manager, 6, 384), FakeModels.model(manager, 12, 384));
        assertThatThrownBy(() -> create("attention", "student-layers = [2, 6], teacher-layers = [5, 12]", context))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("student-layers contains 6, but the student has 6 attention layers (0..5)")
                .hasMessageContaining("teacher-layers contains 12, but the teacher has 12 attention layers (0..11)");
        Objective last = create("attention", "", context);
        assertThat(last.needs()).containsExactlyInAnyOrder(Need.TEACHER, Need.ATTENTIONS);
        assertThat(((AttentionObjective) last).pairs()).singleElement().satisfies(p -> assertThat(p).containsExactly(5, 11));
        assertThatThrownBy(() -> parse("attention", "loss = cosine")).isInstanceOf(InvalidConfigException.class).hasMessageContaining("loss");
        assertThatThrownBy(() -> parse("attention", "student-layers = [1, 2], teacher-layers = [3]")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("teacher-layers");
        assertThatThrownBy(() -> create("attention", "", FakeModels.context(FakeModels.model(manager, 6, 384), null)))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("needs a teacher");
    }

    @Test
    void layerMapNamingALayerThatDoesNotExistIsRefusedNamingKeyValueAndTheLayerCount() {
        PluginContext context = FakeModels.context(FakeModels.model(manager, 6, 384), FakeModels.model(manager, 12, 384));
        assertThatThrownBy(() -> create("hidden-state", "student-layers = [3, 7], teacher-layers = [6, 13]", context))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("student-layers contains 7, but the student has 6 layers")
                .hasMessageContaining("teacher-layers contains 13, but the teacher has 12 layers");
        assertThatThrownBy(() -> create("hidden-state", "", FakeModels.context(FakeModels.model(manager, 6, 384), null)))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("needs a teacher");
        assertThatThrownBy(() -> create("hidden-state", "projection = never",
                FakeModels.context(FakeModels.model(manager, 6, 256), FakeModels.model(manager, 12, 384))))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("256").hasMessageContaining("384").hasMessageContaining("projection");
    }

    @Test
    void theProjectionExistsOnlyWhenHiddenSizesDifferAndLearnsFromTheLoss() {
        Objective same = create("hidden-state", "", FakeModels.context(FakeModels.model(manager, 2, 4), FakeModels.model(manager, 4, 4)));
        assertThat(same.modules()).isEmpty();
        assertThat(same.needs()).containsExactlyInAnyOrder(Need.TEACHER, Need.HIDDEN_STATES);
        assertThat(((HiddenStateObjective) same).pairs()).singleElement().satisfies(p -> assertThat(p).containsExactly(2, 4));

        Objective projected = create("hidden-state", "student-layers = [0, 2], teacher-layers = [0, 4]",
                FakeModels.context(FakeModels.model(manager, 2, 4), FakeModels.model(manager, 4, 6)));
        assertThat(projected.modules()).containsOnlyKeys("projection");
        Linear projection = (Linear) projected.modules().get("projection");
        assertThat(projection.inFeatures()).isEqualTo(4);
        assertThat(projection.outFeatures()).isEqualTo(6);
        assertThat(projection.trainableParameters()).containsOnlyKeys("weight", "bias");

        try (NDManager step = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = ForwardContext.training(step);
            NDArray mask = step.ones(new Shape(2, 3), DataType.INT64);
            ModelInput input = new ModelInput(step.zeros(new Shape(2, 3), DataType.INT64), mask);
            List<NDArray> studentStates = List.of(step.randomNormal(new Shape(2, 3, 4)), step.randomNormal(new Shape(2, 3, 4)),
                    step.randomNormal(new Shape(2, 3, 4)));
            List<NDArray> teacherStates = List.of(step.randomNormal(new Shape(2, 3, 6)), step.randomNormal(new Shape(2, 3, 6)),
                    step.randomNormal(new Shape(2, 3, 6)), step.randomNormal(new Shape(2, 3, 6)), step.randomNormal(new Shape(2, 3, 6)));
            Objective.Outputs student = new Objective.Outputs(new ModelOutput(studentStates.get(2), null, null, studentStates), step.zeros(new Shape(2, 2)));
            Objective.Outputs teacher = new Objective.Outputs(new ModelOutput(teacherStates.get(4), null, null, teacherStates), step.zeros(new Shape(2, 2)));
            NDArray loss = projected.loss(new Objective.Step(student, teacher, step.zeros(new Shape()), input, null), ctx);
            // the mean of the two pairs' MSEs, each through the projection
            float expected = 0;
            for (int[] pair : new int[][] {{0, 0}, {2, 4}}) {
                expected += DistillationLosses.maskedMse(projection.forward(studentStates.get(pair[0]), ctx), teacherStates.get(pair[1]), mask, ctx).getFloat();
            }
            assertThat(loss.getFloat()).isCloseTo(expected / 2, within(1e-5f));
            gc.backward(loss);
            try (NDArray g = projection.parameter("weight").value().getGradient()) {
                assertThat(g.abs().sum().getFloat()).isGreaterThan(0f);
            }
        }
    }

    @Test
    void softTargetAndTokenKlNeedATeacherAndIncludeTheTaskLoss() {
        PluginContext context = FakeModels.context(FakeModels.model(manager, 2, 4), null);
        for (String name : List.of("soft-target-kl", "token-kl")) {
            Objective o = create(name, "", context);
            assertThat(o.needs()).containsExactlyInAnyOrder(Need.TEACHER, Need.TEACHER_LOGITS);
            assertThat(o.includesTaskLoss()).isTrue();
            assertThat(o.modules()).isEmpty();
            try (NDManager step = manager.newSubManager()) {
                ModelInput input = new ModelInput(step.zeros(new Shape(1, 2), DataType.INT64), step.ones(new Shape(1, 2), DataType.INT64));
                Objective.Outputs student = new Objective.Outputs(new ModelOutput(step.zeros(new Shape(1, 2, 4)), null, null, null), step.zeros(new Shape(1, 2)));
                assertThatThrownBy(() -> o.loss(new Objective.Step(student, null, step.zeros(new Shape()), input, null), ForwardContext.training(step)))
                        .isInstanceOf(Peft4jException.class).hasMessageContaining("teacher");
            }
        }
    }

    @Test
    void softTargetMixesTaskLossByAlpha() {
        Objective o = create("soft-target-kl", "temperature = 2, alpha = 0.25", FakeModels.context(FakeModels.model(manager, 2, 4), null));
        try (NDManager step = manager.newSubManager()) {
            ForwardContext ctx = ForwardContext.training(step);
            NDArray s = step.create(new float[] {1f, 2f, 0.5f, -1f}, new Shape(2, 2));
            NDArray t = step.create(new float[] {3f, 0f, -2f, 2f}, new Shape(2, 2));
            ModelInput input = new ModelInput(step.zeros(new Shape(2, 2), DataType.INT64), step.ones(new Shape(2, 2), DataType.INT64));
            ModelOutput hidden = new ModelOutput(step.zeros(new Shape(2, 2, 4)), null, null, null);
            NDArray task = step.create(0.8f).reshape(new Shape());
            float loss = o.loss(new Objective.Step(new Objective.Outputs(hidden, s), new Objective.Outputs(hidden, t), task, input, null), ctx).getFloat();
            double kd = 0;
            for (int row = 0; row < 2; row++) {
                double[] ps = softmax(s.get(row).toFloatArray(), 2);
                double[] pt = softmax(t.get(row).toFloatArray(), 2);
                for (int c = 0; c < 2; c++) {
                    kd += pt[c] * Math.log(pt[c] / ps[c]);
                }
            }
            kd = kd / 2 * 4; // batchmean, times T^2
            assertThat((double) loss).isCloseTo(0.25 * kd + 0.75 * 0.8, within(1e-5));
        }
    }

    private static double[] softmax(float[] z, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : z) {
            max = Math.max(max, v / temperature);
        }
        double sum = 0;
        double[] p = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            p[i] = Math.exp(z[i] / temperature - max);
            sum += p[i];
        }
        for (int i = 0; i < z.length; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
