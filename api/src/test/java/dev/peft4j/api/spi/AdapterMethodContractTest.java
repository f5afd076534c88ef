package dev.peft4j.api.spi;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract every adapter method plugin meets (PEFT's {@code TEST_CASES} run through one tester): shapes
 * unchanged, a zero-initialised adapter is the identity, only adapter parameters get gradients, save/load
 * round-trips, merged equals unmerged. A method joins by extending this class with its table of {@link Row}s.
 * Written against the SPI only ({@link Adaptation}): it ships in the api module's test-jar, and the lora and
 * adapters modules (and any third-party method) run it over their own rows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class AdapterMethodContractTest {
    /** A model under test: a tree and a deterministic forward pass on a fixed batch. */
    public interface Subject extends AutoCloseable {
        Module root();

        NDArray forward(ForwardContext ctx);

        @Override
        void close();
    }

    /** One row of the table: how to build the same base model again and again, and how to adapt it. */
    public interface Row {
        String name();

        /** Same weights on every call. */
        Subject newSubject(NDManager manager);

        /** Applies the method freshly initialised (for LoRA: B = 0). */
        Adaptation apply(Subject subject, long seed);

        /** Whether a full parameter name belongs to the adapter (or to what the method trains beside it). */
        boolean isAdapterParameter(String name);

        /**
         * Whether the freshly applied method leaves the output unchanged (LoRA's B = 0, freezing methods). Prompt
         * learning is not the identity at initialisation (its virtual tokens are attended from the start), as in PEFT.
         */
        default boolean isIdentityWhenFresh() {
            return true;
        }

        /** Whether a trainable parameter must get a non-zero gradient from the subject's forward pass. */
        default boolean expectsNonZeroGradient(String name) {
            return true;
        }
    }

    protected abstract List<? extends Row> rows();

    protected abstract TensorFiles tensorFiles();

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    public void shapesAreUnchanged(Row row) {
        try (NDManager m = NDManager.newBaseManager(); Subject s = row.newSubject(m)) {
            NDArray before = s.forward(ForwardContext.inference(m));
            perturb(row.apply(s, 1));
            assertThat(s.forward(ForwardContext.inference(m)).getShape()).isEqualTo(before.getShape());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    public void zeroInitialisedAdapterIsTheIdentity(Row row) {
        try (NDManager m = NDManager.newBaseManager(); Subject s = row.newSubject(m)) {
            NDArray before = s.forward(ForwardContext.inference(m));
            row.apply(s, 1);
            NDArray after = s.forward(ForwardContext.inference(m));
            if (row.isIdentityWhenFresh()) {
                assertThat(maxAbsDiff(before, after)).isLessThanOrEqualTo(1e-6f);
            } else {
                assertThat(maxAbsDiff(before, after)).as("a method that says it is not the identity when fresh").isGreaterThan(1e-6f);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    public void onlyAdapterParametersGetGradients(Row row) {
        try (NDManager m = NDManager.newBaseManager(); Subject s = row.newSubject(m)) {
            Adaptation a = row.apply(s, 1);
            perturb(a);
            Set<String> trainable = new TreeSet<>(a.trainableParameters().keySet());
            assertThat(trainable).isNotEmpty().allMatch(row::isAdapterParameter);
            try (NDManager step = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = s.forward(ForwardContext.training(step));
                NDArray weights = randomArray(step, out.getShape(), 1.0, new Random(3));
                gc.backward(out.mul(weights).sum());
            }
            Set<String> withGradient = new TreeSet<>();
            for (Map.Entry<String, Parameter> e : s.root().namedParameters().entrySet()) {
                if (e.getValue().value().hasGradient()) {
                    withGradient.add(e.getKey());
                    try (NDArray g = e.getValue().value().getGradient()) {
                        if (e.getValue().trainable() && row.expectsNonZeroGradient(e.getKey())) {
                            assertThat(g.abs().sum().getFloat()).as("gradient of " + e.getKey()).isGreaterThan(0f);
                        }
                        g.subi(g); // zero for the next row
                    }
                }
            }
            assertThat(withGradient).isEqualTo(trainable);
        }
    }

    /** The schedule (learning-rate groups, unfreezing stages) gives every trainable parameter a valid group, and stages need an interval. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    public void theParameterScheduleCoversEveryTrainableParameter(Row row) {
        try (NDManager m = NDManager.newBaseManager(); Subject s = row.newSubject(m)) {
            Adaptation a = row.apply(s, 1);
            ParameterSchedule schedule = a.parameterSchedule();
            assertThat(schedule).isNotNull();
            for (String name : a.trainableParameters().keySet()) {
                ParameterSchedule.Group group = schedule.groupOf(name);
                assertThat(group).as(name).isNotNull();
                assertThat(group.learningRateScale()).as(name).isPositive();
                if (schedule.unfreezeEvery() == 0) {
                    assertThat(group.unfreezeStage()).as(name + ": a stage without an unfreezing interval").isZero();
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    public void saveAndLoadRoundTrip(Row row, @TempDir Path dir) {
        try (NDManager m = NDManager.newBaseManager(); Subject s = row.newSubject(m); Subject fresh = row.newSubject(m)) {
            Adaptation a = row.apply(s, 1);
            perturb(a);
            NDArray expected = s.forward(ForwardContext.inference(m));
            a.save(dir, tensorFiles());
            Adaptation b = row.apply(fresh, 2);
            NDArray beforeLoad = fresh.forward(ForwardContext.inference(m));
            assertThat(maxAbsDiff(expected, beforeLoad)).as("the saved adapter changes the output").isGreaterThan(1e-4f);
            b.load(dir, tensorFiles());
            assertThat(maxAbsDiff(expected, fresh.forward(ForwardContext.inference(m)))).isLessThanOrEqualTo(1e-7f);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    public void mergedEqualsUnmergedAndUnmergeRestoresTheBase(Row row) {
        try (NDManager m = NDManager.newBaseManager(); Subject s = row.newSubject(m)) {
            Adaptation a = row.apply(s, 1);
            if (!a.canMerge()) {
                return;
            }
            perturb(a);
            Map<String, NDArray> base = snapshotFrozen(s.root());
            NDArray unmerged = s.forward(ForwardContext.inference(m));
            a.merge();
            NDArray merged = s.forward(ForwardContext.inference(m));
            assertThat(maxAbsDiff(unmerged, merged)).isLessThanOrEqualTo(1e-5f);
            assertThat(maxChange(base, s.root())).as("merge rewrote base weights").isGreaterThan(1e-4f);
            a.unmerge();
            assertThat(maxChange(base, s.root())).isLessThanOrEqualTo(1e-6f);
            assertThat(maxAbsDiff(unmerged, s.forward(ForwardContext.inference(m)))).isLessThanOrEqualTo(1e-6f);
        }
    }

    /** Adds N(0, 0.1) to every trainable parameter, so the adapter does something (B no longer zero). */
    public static void perturb(Adaptation a) {
        Random random = new Random(11);
        for (Parameter p : a.trainableParameters().values()) {
            NDArray noise = randomArray(p.value().getManager(), p.shape(), 0.1, random);
            NDArray v = p.value().stopGradient().add(noise);
            noise.close();
            p.setValue(v);
        }
    }

    private static Map<String, NDArray> snapshotFrozen(Module root) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        root.namedParameters().forEach((k, p) -> {
            if (!p.trainable()) {
                out.put(k, p.value().stopGradient().duplicate());
            }
        });
        return out;
    }

    private static float maxChange(Map<String, NDArray> before, Module root) {
        Map<String, Parameter> now = root.namedParameters();
        float max = 0;
        for (Map.Entry<String, NDArray> e : before.entrySet()) {
            Parameter p = now.get(e.getKey());
            if (p != null) {
                max = Math.max(max, maxAbsDiff(e.getValue(), p.value()));
            }
        }
        return max;
    }

    /** The largest element-wise difference; the shapes must agree. */
    public static float maxAbsDiff(NDArray a, NDArray b) {
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        if (x.length != y.length) {
            throw new AssertionError("sizes differ: " + a.getShape() + " vs " + b.getShape());
        }
        float max = 0;
        for (int i = 0; i < x.length; i++) {
            max = Math.max(max, Math.abs(x[i] - y[i]));
        }
        return max;
    }

    /** N(0, std) values in torch-owned memory of {@code m}. */
    public static NDArray randomArray(NDManager m, Shape shape, double std, Random random) {
        float[] v = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (random.nextGaussian() * std);
        }
        try (NDArray javaBacked = m.create(v, shape)) {
            return javaBacked.duplicate();
        }
    }
}
