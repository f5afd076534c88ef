package dev.peft4j.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.runtime.config.ModelSettings;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HfModelLoaderTest {
    static final Path TINY_BERT = Path.of("..", "models", "src", "test", "resources", "tiny-bert", "model").toAbsolutePath().normalize();
    static final String QUERY = "encoder.layer.0.attention.self.query.weight";

    private static Map<String, float[]> weights(ModelSettings settings) {
        try (ModelLoader.LoadedModel loaded = new HfModelLoader().load(settings)) {
            assertThat(loaded.tokenizer()).isPresent(); // random init keeps the source's tokenizer
            return Map.of(QUERY, loaded.model().module().namedParameters().get(QUERY).value().toFloatArray(),
                    "embeddings.LayerNorm.weight", loaded.model().module().namedParameters().get("embeddings.LayerNorm.weight").value().toFloatArray());
        }
    }

    @Test
    void randomInitKeepsTheArchitectureAndReplacesTheWeights() {
        String dir = TINY_BERT.toString();
        Map<String, float[]> pretrained = weights(new ModelSettings(dir, "cpu", 32));
        Map<String, float[]> random = weights(new ModelSettings(dir, "cpu", 32, "random", 3));
        Map<String, float[]> again = weights(new ModelSettings(dir, "cpu", 32, "random", 3));
        assertThat(random.get(QUERY)).hasSameSizeAs(pretrained.get(QUERY)).isNotEqualTo(pretrained.get(QUERY));
        assertThat(random.get(QUERY)).containsExactly(again.get(QUERY));
        assertThat(random.get("embeddings.LayerNorm.weight")).containsOnly(1f);
        assertThat(pretrained.get("embeddings.LayerNorm.weight")).doesNotContain(1f);
    }

    @Test
    void keepLayersLoadsTheNamedLayersOfTheCheckpointWithItsTokenizer() {
        String dir = TINY_BERT.toString();
        try (ModelLoader.LoadedModel full = new HfModelLoader().load(new ModelSettings(dir, "cpu", 32));
                ModelLoader.LoadedModel cut = new HfModelLoader().load(new ModelSettings(dir, "cpu", 32, "pretrained", 42, java.util.List.of(1)))) {
            assertThat(cut.tokenizer()).isPresent();
            assertThat(cut.model().config().integer("num_hidden_layers")).isEqualTo(1);
            assertThat(cut.model().module().namedParameters().get(QUERY).value().toFloatArray())
                    .containsExactly(full.model().module().namedParameters().get("encoder.layer.1.attention.self.query.weight").value().toFloatArray());
            assertThat(cut.model().module().namedParameters()).doesNotContainKey("encoder.layer.1.attention.self.query.weight");
        }
    }
}
