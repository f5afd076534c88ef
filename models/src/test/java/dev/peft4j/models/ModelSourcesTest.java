package dev.peft4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelSourcesTest {
    @Test
    void pathsAreDirectoriesAndMavenCoordinatesAreImported(@TempDir Path cache) {
        assertThat(ModelSources.resolve("src/test/resources/tiny-bert/model", cache)).isEqualTo(Path.of("src/test/resources/tiny-bert/model"));
        try (TransformerModel model = ModelSources.load("src/test/resources/tiny-bert/model", Device.cpu())) {
            assertThat(model.module().parameterCount()).isEqualTo(18_880);
        }
        // dispatched to the Maven source (which rejects the coordinate before any resolution)
        assertThatThrownBy(() -> ModelSources.resolve("maven:only-two:parts", cache))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("invalid Maven coordinate 'only-two:parts'");
    }
}
