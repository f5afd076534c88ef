package dev.peft4j.models.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The real tinystories-260k Llama file (../shared/data): names, shapes and values. */
class TinyStoriesSafetensorsTest {
    @Test
    void loadsAll47TensorsWithHuggingFaceNamesShapesAndValues() {
        Path path = SafetensorsTestFiles.tinyStories();
        Assumptions.assumeTrue(path != null, "peft4j.data not set or tinystories-260k/model.safetensors missing");
        List<String> expected = new ArrayList<>();
        expected.add("model.embed_tokens.weight");
        for (int i = 0; i < 5; i++) {
            for (String s : new String[] {"input_layernorm", "mlp.down_proj", "mlp.gate_proj", "mlp.up_proj",
                "post_attention_layernorm", "self_attn.k_proj", "self_attn.o_proj", "self_attn.q_proj", "self_attn.v_proj"}) {
                expected.add("model.layers." + i + "." + s + ".weight");
            }
        }
        expected.add("model.norm.weight");
        try (SafetensorsFile f = SafetensorsFile.open(path); NDManager m = NDManager.newBaseManager()) {
            assertThat(f.metadata()).containsEntry("format", "pt");
            assertThat(f.names()).hasSize(47).containsExactlyInAnyOrderElementsOf(expected);
            assertThat(f.entry("model.embed_tokens.weight").shape()).containsExactly(512, 64);
            assertThat(f.entry("model.layers.3.mlp.down_proj.weight").shape()).containsExactly(64, 172);
            assertThat(f.entry("model.layers.3.mlp.gate_proj.weight").shape()).containsExactly(172, 64);
            assertThat(f.entry("model.layers.0.self_attn.k_proj.weight").shape()).containsExactly(32, 64);
            assertThat(f.entry("model.layers.4.self_attn.q_proj.weight").shape()).containsExactly(64, 64);
            assertThat(f.entry("model.norm.weight").shape()).containsExactly(64);

            Map<String, NDArray> all = f.loadAll(m);
            assertThat(all.values().stream().mapToLong(NDArray::size).sum()).isEqualTo(260_032);
            assertThat(all.values()).allMatch(a -> a.getDataType() == DataType.FLOAT32);
            // Reference values printed by the Python safetensors library.
            assertThat(all.get("model.norm.weight").get("0:4").toFloatArray())
                    .containsExactly(2.4583089351654053f, 1.3673226833343506f, 1.7504382133483887f, 1.1078318357467651f);
            assertThat(all.get("model.embed_tokens.weight").get("511, 60:64").toFloatArray())
                    .containsExactly(-0.0016551478765904903f, -0.23400729894638062f, -0.16485778987407684f, -0.424032598733902f);
            assertThat(all.get("model.embed_tokens.weight").toType(DataType.FLOAT64, false).sum().getDouble())
                    .isCloseTo(-752.3677446640068, within(1e-9));
            assertThat(sum(f.readFloats("model.norm.weight"))).isCloseTo(115.95276230573654, within(1e-9));
        }
    }

    private static double sum(float[] values) {
        double s = 0;
        for (float v : values) {
            s += v;
        }
        return s;
    }
}
