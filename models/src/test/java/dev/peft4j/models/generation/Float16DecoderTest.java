package dev.peft4j.models.generation;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.gpt2.Gpt2Loader;
import dev.peft4j.models.llama.LlamaLoader;
import org.junit.jupiter.api.Test;

/** Decoders run in float16 (no promotion to float32 by the mask or rotary tables; padded rows stay finite). */
class Float16DecoderTest {
    static final long[] IDS = {5, 17, 42, 3, 60, 11, 29, 8, 0, 0, 0, 7, 33, 2, 50, 9};
    static final long[] MASK = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1};

    static void checkHalf(TransformerModel model) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray ids = m.create(IDS, new Shape(2, 8));
            NDArray mask = m.create(MASK, new Shape(2, 8));
            float[] full = model.forward(new ModelInput(ids, mask), ForwardContext.inference(m)).logits().toFloatArray();
            for (Parameter p : model.module().namedParameters().values()) {
                p.setValue(p.value().toType(DataType.FLOAT16, false));
            }
            NDArray half = model.forward(new ModelInput(ids, mask), ForwardContext.inference(m)).logits();
            assertThat(half.getDataType()).isEqualTo(DataType.FLOAT16);
            float[] h = half.toType(DataType.FLOAT32, false).toFloatArray();
            int vocab = (int) half.getShape().get(2);
            float max = 0;
            for (int i = 0; i < h.length; i++) {
                assertThat(Float.isFinite(h[i])).as("logit %d", i).isTrue();
                if (MASK[i / vocab] == 1) {
                    max = Math.max(max, Math.abs(h[i] - full[i]));
                }
            }
            assertThat(max).isLessThan(0.02f);
            Generator generator = new Generator(model);
            assertThat(generator.generate(new long[] {5, 17}, GenerationConfig.greedy(12)).tokens())
                    .containsExactly(generator.generate(new long[] {5, 17}, GenerationConfig.greedy(12).withCache(false)).tokens());
        }
    }

    @Test
    void llamaAndGpt2RunInFloat16() throws Exception {
        try (TransformerModel llama = LlamaLoader.load(TestFixtures.resource("tiny-llama/model.safetensors"),
                TestFixtures.config(TestFixtures.resource("tiny-llama")), Device.cpu());
                TransformerModel gpt2 = Gpt2Loader.load(TestFixtures.resource("tiny-gpt2/model.safetensors"),
                        TestFixtures.config(TestFixtures.resource("tiny-gpt2")), Device.cpu())) {
            checkHalf(llama);
            checkHalf(gpt2);
        }
    }
}
