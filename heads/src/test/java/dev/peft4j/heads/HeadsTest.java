package dev.peft4j.heads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TaskHeadFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HeadsTest {
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
    static <C> TaskHead head(String name, String overrides, TinyBackbone backbone) {
        TaskHeadFactory<C> f = (TaskHeadFactory<C>) new HeadsPlugin().taskHeads().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow();
        Config section = ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.heads." + name));
        return f.create(backbone, f.parseConfig(section), null);
    }

    @Test
    void crossEntropyMatchesHandComputedValueAndGradientIgnoringMinus100() {
        float[] logits = {1.0f, -0.5f, 2.0f, 0.3f, 0.3f, 0.3f, -1.0f, 4.0f, 0.0f};
        long[] labels = {2, -100, 1};
        NDArray x = manager.create(logits, new Shape(3, 3));
        x.setRequiresGradient(true);
        try (NDManager step = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = ForwardContext.training(step);
            NDArray loss = Losses.crossEntropy(x, step.create(labels), ctx);
            gc.backward(loss);
            double expected = (nll(logits, 0, 2) + nll(logits, 2, 1)) / 2;
            assertThat(loss.getFloat()).isCloseTo((float) expected, within(1e-5f));
            System.gc();
            try (NDArray g = x.getGradient()) {
                float[] grad = g.toFloatArray();
                for (int row : new int[] {0, 2}) {
                    double[] p = softmax(logits, row);
                    for (int c = 0; c < 3; c++) {
                        double target = c == labels[row] ? 1 : 0;
                        assertThat(grad[row * 3 + c]).isCloseTo((float) ((p[c] - target) / 2), within(1e-5f));
                    }
                }
                assertThat(grad[3]).isZero();
                assertThat(grad[4]).isZero();
                assertThat(grad[5]).isZero();
            }
        }
    }

    @Test
    void bceWithLogitsAndMseMatchHandComputedValues() {
        float[] logits = {2.0f, -3.0f, 0.5f, 40.0f};
        float[] targets = {1f, 0f, 0f, 1f};
        double expected = 0;
        for (int i = 0; i < 4; i++) {
            // -log(sigmoid(x)) = log1p(exp(-x)); -log(1 - sigmoid(x)) = log1p(exp(x))
            expected += targets[i] * Math.log1p(Math.exp(-logits[i])) + (1 - targets[i]) * Math.log1p(Math.exp(logits[i]));
        }
        try (NDManager step = manager.newSubManager()) {
            ForwardContext ctx = ForwardContext.training(step);
            float bce = Losses.binaryCrossEntropyWithLogits(step.create(logits, new Shape(2, 2)), step.create(targets, new Shape(2, 2)), ctx).getFloat();
            assertThat(bce).isCloseTo((float) (expected / 4), within(1e-5f));
            float mse = Losses.meanSquaredError(step.create(new float[] {1f, 2f, 4f}, new Shape(3, 1)), step.create(new float[] {0f, 2f, 2f}), ctx).getFloat();
            assertThat(mse).isCloseTo(5f / 3, within(1e-6f));
        }
    }

    @Test
    void headsHaveHfNamesShapesAndTrainableParameters() {
        TinyBackbone backbone = new TinyBackbone(manager, 10, 4);
        TaskHead cls = head("sequence-classification", "num-labels = 3", backbone);
        assertThat(cls.modules().keySet()).containsExactly("dropout", "classifier");
        assertThat(cls.modules().get("classifier").namedParameters().keySet()).containsExactly("weight", "bias");
        assertThat(cls.modules().get("classifier").parameter("weight").shape()).isEqualTo(new Shape(3, 4));
        assertThat(cls.modules().get("classifier").parameter("weight").trainable()).isTrue();
        assertThat(cls.labelKind()).isEqualTo(TaskHead.LabelKind.CLASS_ID);
        assertThat(head("regression", "", backbone).numLabels()).isEqualTo(1);
        assertThat(head("multi-label", "num-labels = 5", backbone).labelKind()).isEqualTo(TaskHead.LabelKind.MULTI_HOT);
        assertThat(head("token-classification", "num-labels = 9", backbone).labelKind()).isEqualTo(TaskHead.LabelKind.TOKEN_CLASS_IDS);
        // same seed, same initial weights
        float[] a = head("sequence-classification", "num-labels = 3", backbone).modules().get("classifier").parameter("weight").value().toFloatArray();
        assertThat(cls.modules().get("classifier").parameter("weight").value().toFloatArray()).containsExactly(a);
    }

    @Test
    void badConfigsAreReportedTogether() {
        TinyBackbone backbone = new TinyBackbone(manager, 10, 4);
        assertThatThrownBy(() -> head("sequence-classification", "pooling = max, dropout = 1.5, colour = red", backbone))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("pooling").hasMessageContaining("dropout").hasMessageContaining("colour");
        assertThatThrownBy(() -> head("sequence-classification", "", backbone)).hasMessageContaining("num-labels is 0");
        assertThatThrownBy(() -> head("regression", "num-labels = 3", backbone)).hasMessageContaining("expected 1");
    }

    @Test
    void meanPoolingIgnoresPaddingAndClsTakesTheFirstToken() {
        TinyBackbone backbone = new TinyBackbone(manager, 10, 4);
        TaskHead mean = head("sequence-classification", "num-labels = 2, pooling = mean, dropout = 0", backbone);
        TaskHead cls = head("sequence-classification", "num-labels = 2, pooling = cls, dropout = 0", backbone);
        try (NDManager step = manager.newSubManager()) {
            ForwardContext ctx = ForwardContext.inference(step);
            ModelInput padded = new ModelInput(step.create(new long[] {1, 5, 7, 0, 0, 1, 5, 7, 3, 3}, new Shape(2, 5)),
                    step.create(new long[] {1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, new Shape(2, 5)));
            ModelInput unpadded = new ModelInput(step.create(new long[] {1, 5, 7}, new Shape(1, 3)), step.create(new long[] {1, 1, 1}, new Shape(1, 3)));
            float[] p = mean.forward(backbone.forward(padded, ctx), padded, ctx).toFloatArray();
            float[] u = mean.forward(backbone.forward(unpadded, ctx), unpadded, ctx).toFloatArray();
            assertThat(p[0]).isCloseTo(u[0], within(1e-6f));
            assertThat(p[1]).isCloseTo(u[1], within(1e-6f));
            assertThat(p[2]).isNotCloseTo(u[0], within(1e-4f));
            float[] c = cls.forward(backbone.forward(padded, ctx), padded, ctx).toFloatArray();
            assertThat(c[0]).isCloseTo(c[2], within(1e-6f)); // both rows start with token 1
        }
    }

    @Test
    void tokenClassificationTrainsOnlyLabelledPositions() {
        TinyBackbone backbone = new TinyBackbone(manager, 10, 4);
        TaskHead token = head("token-classification", "num-labels = 3, dropout = 0", backbone);
        NDArray w = token.modules().get("classifier").parameter("weight").value();
        try (NDManager step = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = ForwardContext.training(step);
            ModelInput in = new ModelInput(step.create(new long[] {1, 4, 6, 2}, new Shape(1, 4)), step.create(new long[] {1, 1, 1, 1}, new Shape(1, 4)));
            NDArray logits = token.forward(backbone.forward(in, ctx), in, ctx);
            assertThat(logits.getShape()).isEqualTo(new Shape(1, 4, 3));
            NDArray loss = token.loss(logits, step.create(new long[] {-100, 2, -100, -100}, new Shape(1, 4)), ctx);
            float[] l = logits.toFloatArray();
            assertThat(loss.getFloat()).isCloseTo((float) nll(l, 1, 2), within(1e-5f));
            gc.backward(loss);
            try (NDArray g = w.getGradient()) {
                assertThat(g.abs().sum().getFloat()).isGreaterThan(0f);
            }
        }
    }

    @Test
    void aBoundHeadUsesTheModuleFoundByNameAtTheRoot() {
        TinyBackbone backbone = new TinyBackbone(manager, 10, 4);
        TaskHead cls = head("sequence-classification", "num-labels = 2, dropout = 0", backbone);
        dev.peft4j.api.nn.Module root = new dev.peft4j.api.nn.Module(dev.peft4j.api.nn.ModuleType.MODEL) {
            {
                cls.modules().forEach(this::addChild);
            }

            @Override
            public ai.djl.ndarray.NDList forward(ai.djl.ndarray.NDList inputs, ForwardContext context) {
                throw new UnsupportedOperationException();
            }
        };
        cls.bind(root);
        // a method replaces the classifier (as a modules_to_save wrapper would): the head must use the replacement
        root.replace("classifier", old -> new dev.peft4j.api.nn.Linear(manager, 4, 2, true));
        try (NDManager step = manager.newSubManager()) {
            ForwardContext ctx = ForwardContext.inference(step);
            ModelInput in = new ModelInput(step.create(new long[] {1, 5}, new Shape(1, 2)), step.create(new long[] {1, 1}, new Shape(1, 2)));
            assertThat(cls.forward(backbone.forward(in, ctx), in, ctx).toFloatArray()).containsExactly(0f, 0f);
        }
    }

    private static double[] softmax(float[] logits, int row) {
        double max = Math.max(logits[row * 3], Math.max(logits[row * 3 + 1], logits[row * 3 + 2]));
        double[] p = new double[3];
        double sum = 0;
        for (int c = 0; c < 3; c++) {
            p[c] = Math.exp(logits[row * 3 + c] - max);
            sum += p[c];
        }
        for (int c = 0; c < 3; c++) {
            p[c] /= sum;
        }
        return p;
    }

    private static double nll(float[] logits, int row, int label) {
        return -Math.log(softmax(logits, row)[label]);
    }

    @Test
    void questionAnsweringHeadGivesStartEndLogitsAndTheMeanOfBothCrossEntropies() {
        TinyBackbone backbone = new TinyBackbone(manager, 10, 4);
        TaskHead qa = head("question-answering", "", backbone);
        assertThat(qa.modules()).containsOnlyKeys("dropout", "qa_outputs");
        assertThat(qa.labelKind()).isEqualTo(TaskHead.LabelKind.SPAN);
        assertThat(qa.spanOptions()).contains(new TaskHead.SpanOptions(128, 30, 20, false));
        NDArray w = qa.modules().get("qa_outputs").parameter("weight").value();
        assertThat(w.getShape()).isEqualTo(new Shape(2, 4));
        try (NDManager step = manager.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            ForwardContext ctx = ForwardContext.training(step);
            ModelInput in = new ModelInput(step.create(new long[] {1, 4, 6, 2, 3, 5, 7, 8}, new Shape(2, 4)),
                    step.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1}, new Shape(2, 4)));
            NDArray logits = qa.forward(backbone.forward(in, ctx), in, ctx);
            assertThat(logits.getShape()).isEqualTo(new Shape(2, 4, 2));
            NDArray loss = qa.loss(logits, step.create(new long[] {1, 2, 0, 0}, new Shape(2, 2)), ctx);
            float[] l = logits.toFloatArray(); // [b, t, 2]
            float[] start0 = {l[0], l[2], l[4], l[6]};
            float[] end0 = {l[1], l[3], l[5], l[7]};
            float[] start1 = {l[8], l[10], l[12], l[14]};
            float[] end1 = {l[9], l[11], l[13], l[15]};
            double expected = ((nllRow(start0, 1) + nllRow(start1, 0)) / 2 + (nllRow(end0, 2) + nllRow(end1, 0)) / 2) / 2;
            assertThat(loss.getFloat()).isCloseTo((float) expected, within(1e-5f));
            gc.backward(loss);
            try (NDArray g = w.getGradient()) {
                assertThat(g.abs().sum().getFloat()).isGreaterThan(0f);
            }
        }
        assertThatThrownBy(() -> head("question-answering", "max-answer-length = 0, n-best = 0", backbone))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("max-answer-length").hasMessageContaining("n-best");
    }

    /** -log softmax(v)[label] over the whole vector. */
    private static double nllRow(float[] v, int label) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : v) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (float x : v) {
            sum += Math.exp(x - max);
        }
        return -(v[label] - max - Math.log(sum));
    }
}
