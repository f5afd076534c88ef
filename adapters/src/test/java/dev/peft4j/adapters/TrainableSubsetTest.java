package dev.peft4j.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.models.safetensors.SafetensorsFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What full and BitFit share: only trainable parameters get gradients, and save/load round-trips. */
class TrainableSubsetTest {
    static Stream<Arguments> methods() {
        BiFunction<TestModels.Task, String, Adaptation> full = (t, conf) -> new FullFineTuningMethod()
                .apply(t, FullFineTuningConfig.from(FullFineTuningMethodTest.section(conf)), TestModels.context(t.bert));
        return Stream.of(
                Arguments.of("full", (BiFunction<TestModels.Task, Void, Adaptation>) (t, v) -> full.apply(t, "")),
                Arguments.of("full top layer", (BiFunction<TestModels.Task, Void, Adaptation>) (t, v) -> full.apply(t, "trainable-layers = 1")),
                Arguments.of("bitfit", (BiFunction<TestModels.Task, Void, Adaptation>) (t, v) -> new BitFitMethod()
                        .apply(t, new BitFitConfig(List.of()), TestModels.context(t.bert))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void onlyTrainableParametersGetGradients(String name, BiFunction<TestModels.Task, Void, Adaptation> apply) {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            Adaptation a = apply.apply(task, null);
            try (NDManager step = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = task.logits(ForwardContext.training(step));
                NDArray weights = step.create(new float[] {1f, -2f, 0.5f, 3f}, logits.getShape());
                gc.backward(logits.mul(weights).sum());
            }
            Set<String> withGradient = new TreeSet<>();
            for (Map.Entry<String, Parameter> e : task.namedParameters().entrySet()) {
                if (e.getValue().value().hasGradient()) {
                    withGradient.add(e.getKey());
                    try (NDArray g = e.getValue().value().getGradient()) {
                        // a key bias shifts every score of a query equally, so softmax makes its gradient ~0
                        if (!e.getKey().endsWith("key.bias")) {
                            assertThat(g.abs().sum().getFloat()).as("gradient of " + e.getKey()).isGreaterThan(0f);
                        }
                    }
                }
            }
            assertThat(withGradient).isEqualTo(new TreeSet<>(a.trainableParameters().keySet())).isNotEmpty();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("methods")
    void saveAndLoadRoundTrip(String name, BiFunction<TestModels.Task, Void, Adaptation> apply, @TempDir Path dir) {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task trained = new TestModels.Task(m, 1);
                TestModels.Task fresh = new TestModels.Task(m, 1)) {
            Adaptation a = apply.apply(trained, null);
            TestModels.perturb(a.trainableParameters(), 7);
            NDArray expected = trained.logits(ForwardContext.inference(m));
            a.save(dir, TestModels.FILES);
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(TrainableSubset.WEIGHTS_FILE))) {
                assertThat(f.metadata()).containsEntry(TrainableSubset.METHOD_KEY, a.method()).containsEntry("format", "pt");
            }

            Adaptation b = apply.apply(fresh, null);
            assertThat(TestModels.maxAbsDiff(expected, fresh.logits(ForwardContext.inference(m)))).isGreaterThan(1e-3f);
            b.load(dir, TestModels.FILES);
            assertThat(TestModels.maxAbsDiff(expected, fresh.logits(ForwardContext.inference(m)))).isEqualTo(0f);
            for (Map.Entry<String, Parameter> e : trained.namedParameters().entrySet()) {
                NDArray other = fresh.namedParameters().get(e.getKey()).value();
                assertThat(TestModels.maxAbsDiff(e.getValue().value(), other)).as(e.getKey()).isEqualTo(0f);
                assertThat(other.hasGradient()).isEqualTo(e.getValue().trainable());
            }
        }
    }

    @Test
    void loadingAnotherSelectionFailsAndChangesNothing(@TempDir Path dir) {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task a = new TestModels.Task(m, 1); TestModels.Task b = new TestModels.Task(m, 1);
                TestModels.Task c = new TestModels.Task(m, 1)) {
            FullFineTuningMethod full = new FullFineTuningMethod();
            Adaptation saved = full.apply(a, FullFineTuningConfig.from(FullFineTuningMethodTest.section("freeze-embeddings = true")), TestModels.context(a.bert));
            TestModels.perturb(saved.trainableParameters(), 3);
            saved.save(dir, TestModels.FILES);

            Adaptation all = full.apply(b, FullFineTuningConfig.from(FullFineTuningMethodTest.section("")), TestModels.context(b.bert));
            NDArray before = b.logits(ForwardContext.inference(m));
            assertThatThrownBy(() -> all.load(dir, TestModels.FILES)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining(TrainableSubset.WEIGHTS_FILE)
                    .hasMessageContaining("tensor 'bert.embeddings.word_embeddings.weight' is missing (expected shape (99, 32))");
            assertThat(TestModels.maxAbsDiff(before, b.logits(ForwardContext.inference(m)))).isEqualTo(0f);

            Adaptation bitfit = new BitFitMethod().apply(c, new BitFitConfig(List.of()), TestModels.context(c.bert));
            assertThatThrownBy(() -> bitfit.load(dir, TestModels.FILES)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("was written by method 'full', expected 'bitfit'");
            assertThat(saved.canMerge()).isFalse();
            assertThatThrownBy(saved::merge).isInstanceOf(UnsupportedOperationException.class);
        }
    }
}
