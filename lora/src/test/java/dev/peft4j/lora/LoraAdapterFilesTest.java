package dev.peft4j.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Adapter keys of the bare encoder against a task model's (and the reverse), and the capped mismatch message. */
class LoraAdapterFilesTest {
    private static final String A = "encoder.layer.0.attention.self.query.lora_A.weight";
    private static final String B = "encoder.layer.0.attention.self.query.lora_B.weight";

    private static Map<String, Shape> expected(String prefix) {
        Map<String, Shape> m = new LinkedHashMap<>();
        m.put("base_model.model." + prefix + A, new Shape(4, 8));
        m.put("base_model.model." + prefix + B, new Shape(8, 4));
        return m;
    }

    private static Map<String, NDArray> state(NDManager nd, String prefix) {
        Map<String, NDArray> m = new LinkedHashMap<>();
        m.put("base_model.model." + prefix + A, nd.zeros(new Shape(4, 8)));
        m.put("base_model.model." + prefix + B, nd.zeros(new Shape(8, 4)));
        return m;
    }

    @Test
    void aBareEncoderAdapterFitsATaskModelAndTheReverse() {
        try (NDManager nd = NDManager.newBaseManager()) {
            // trained in HF PEFT on AutoModel (no "bert."), loaded into a task model whose backbone is "bert"
            assertThat(LoraAdapterFiles.rebased(expected("bert."), state(nd, "")).keySet()).containsExactlyElementsOf(expected("bert.").keySet());
            // trained on AutoModelForSequenceClassification, loaded into the bare encoder
            assertThat(LoraAdapterFiles.rebased(expected(""), state(nd, "bert.")).keySet()).containsExactlyElementsOf(expected("").keySet());
            // already fitting: unchanged
            Map<String, NDArray> fits = state(nd, "bert.");
            assertThat(LoraAdapterFiles.rebased(expected("bert."), fits)).isSameAs(fits);
            // only one of two keys would fit after renaming: left as it is, so validation names what does not fit
            Map<String, NDArray> partial = state(nd, "");
            partial.put("base_model.model.pooler.dense.lora_A.weight", nd.zeros(new Shape(4, 8)));
            assertThat(LoraAdapterFiles.rebased(expected("bert."), partial)).isSameAs(partial);
        }
    }

    @Test
    void aMismatchNamesTheFirstProblemsAndCountsTheRest() {
        try (NDManager nd = NDManager.newBaseManager()) {
            Map<String, Shape> expected = new LinkedHashMap<>();
            Map<String, NDArray> state = new LinkedHashMap<>();
            for (int i = 0; i < 10; i++) {
                expected.put("base_model.model.x" + i + ".lora_A.weight", new Shape(2, 2));
                state.put("base_model.model.y" + i + ".lora_A.weight", nd.zeros(new Shape(2, 2)));
            }
            assertThatThrownBy(() -> LoraAdapterFiles.validate(expected, state, "a.safetensors"))
                    .isInstanceOf(Peft4jException.class)
                    .hasMessageStartingWith("a.safetensors does not fit this model (nothing was applied): tensor 'base_model.model.y0.lora_A.weight'")
                    .hasMessageEndingWith("; and 14 more problems of 10 tensors in the file");
        }
    }
}
