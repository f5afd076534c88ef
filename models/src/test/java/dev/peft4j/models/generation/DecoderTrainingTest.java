package dev.peft4j.models.generation;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.gpt2.Gpt2Loader;
import dev.peft4j.models.llama.LlamaLoader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The decoders train: CausalLmLoss gives every parameter a finite gradient, a few plain SGD steps
 * lower the loss, dropout is active only in training. Runs after a System.gc() inside the graph, so a
 * Java-scalar operand freed early (DJL_NOTES bug 1) would show as wrong or non-finite gradients.
 */
class DecoderTrainingTest {
    static final long[] IDS = {5, 17, 42, 3, 60, 11, 29, 8, 7, 33, 2, 50, 9, 0, 0, 0};
    static final long[] MASK = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    // Prompt tokens (first 2 of row 0) and padding are ignored.
    static final long[] LABELS = {-100, -100, 42, 3, 60, 11, 29, 8, 7, 33, 2, 50, 9, -100, -100, -100};

    static float step(TransformerModel model, NDManager m, boolean update) {
        try (NDManager step = m.newSubManager()) {
            NDArray ids = step.create(IDS, new Shape(2, 8));
            NDArray mask = step.create(MASK, new Shape(2, 8));
            NDArray labels = step.create(LABELS, new Shape(2, 8));
            ForwardContext ctx = ForwardContext.training(step);
            float loss;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.forward(new ModelInput(ids, mask), ctx).logits();
                System.gc();
                NDArray l = CausalLmLoss.compute(logits, labels, ctx);
                loss = l.getFloat();
                gc.backward(l);
            }
            for (Map.Entry<String, Parameter> e : model.module().trainableParameters().entrySet()) {
                NDArray value = e.getValue().value();
                try (NDArray grad = value.getGradient()) {
                    float[] g = grad.toFloatArray();
                    double norm = 0;
                    for (float x : g) {
                        assertThat(Float.isFinite(x)).as(e.getKey()).isTrue();
                        norm += x * x;
                    }
                    assertThat(norm).as("gradient of " + e.getKey()).isGreaterThan(0);
                    if (update) {
                        value.subi(grad.mul(0.5f)); // outside the graph: a plain update
                    }
                    grad.subi(grad); // DJL never zeroes gradients itself
                }
            }
            return loss;
        }
    }

    static void trains(TransformerModel model) {
        try (NDManager m = NDManager.newBaseManager()) {
            List<Float> losses = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                losses.add(step(model, m, true));
            }
            assertThat(losses.get(0)).isGreaterThan(3.5f); // about ln(64) = 4.16 for a random model
            assertThat(losses.get(5)).isLessThan(losses.get(0) - 0.3f);
        }
    }

    @Test
    void llamaTrainsWithCausalLmLoss() {
        try (TransformerModel llama = LlamaLoader.load(TestFixtures.resource("tiny-llama/model.safetensors"),
                configOf("tiny-llama"), Device.cpu())) {
            trains(llama);
        }
    }

    @Test
    void gpt2TrainsWithCausalLmLossAndDropoutOnlyInTraining() {
        Map<String, Object> values = new LinkedHashMap<>(configOf("tiny-gpt2").values());
        values.put("embd_pdrop", 0.1);
        values.put("attn_pdrop", 0.1);
        values.put("resid_pdrop", 0.1);
        try (TransformerModel gpt2 = Gpt2Loader.load(TestFixtures.resource("tiny-gpt2/model.safetensors"),
                new ModelConfig(values, "tiny-gpt2 with dropout 0.1"), Device.cpu()); NDManager m = NDManager.newBaseManager()) {
            assertThat(gpt2.module().namedModules()).containsKeys("transformer.drop", "transformer.h.0.attn.attn_dropout",
                    "transformer.h.0.attn.resid_dropout", "transformer.h.0.mlp.dropout");
            NDArray ids = m.create(IDS, new Shape(2, 8));
            NDArray mask = m.create(MASK, new Shape(2, 8));
            NDArray a = gpt2.forward(new ModelInput(ids, mask), ForwardContext.inference(m)).logits();
            NDArray b = gpt2.forward(new ModelInput(ids, mask), ForwardContext.inference(m)).logits();
            NDArray t = gpt2.forward(new ModelInput(ids, mask), ForwardContext.training(m)).logits();
            assertThat(a.sub(b).abs().max().getFloat()).isEqualTo(0f);
            assertThat(a.sub(t).abs().max().getFloat()).isGreaterThan(1e-3f); // dropout 0.1 is on
            trains(gpt2);
        }
    }

    static ModelConfig configOf(String dir) {
        try {
            return TestFixtures.config(TestFixtures.resource(dir));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
