package dev.peft4j.adapters;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.spi.Adaptation;
import java.util.List;
import org.junit.jupiter.api.Test;

class BitFitMethodTest {
    private final BitFitMethod method = new BitFitMethod();

    /**
     * Biases of the tiny BERT: embeddings LayerNorm 32; per layer q/k/v 3*32, attention dense 32 and
     * LayerNorm 32, intermediate 37, output dense 32 and LayerNorm 32 = 261; pooler 32: 32 + 2*261 + 32 = 586.
     */
    static final long BIASES = 586;

    @Test
    void onlyBiasesAndTheHeadTrain() {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            Adaptation a = method.apply(task, method.parseConfig(section("")), TestModels.context(task.bert));
            assertThat(task.trainableParameterCount()).isEqualTo(BIASES + TestModels.HEAD).isEqualTo(652);
            assertThat(a.trainableParameters().keySet()).allMatch(n -> n.endsWith(".bias") || n.startsWith("classifier."))
                    .contains("classifier.weight", "bert.embeddings.LayerNorm.bias", "bert.encoder.layer.1.output.dense.bias");
            assertThat(a.targetedModules()).startsWith("bert.embeddings.LayerNorm").endsWith("classifier").hasSize(1 + 2 * 8 + 1 + 1);
        }
    }

    @Test
    void modulesToSaveTrainInFull() {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            method.apply(task, method.parseConfig(section("modules-to-save = [pooler]")), TestModels.context(task.bert));
            assertThat(task.trainableParameterCount()).isEqualTo(BIASES + TestModels.HEAD + 32 * 32);
        }
    }

    @Test
    void onTheBackboneAloneThereIsNoHead() {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            method.apply(task.bert.module(), new BitFitConfig(List.of()), TestModels.context(task.bert));
            assertThat(task.bert.module().trainableParameterCount()).isEqualTo(BIASES);
            assertThat(task.child("classifier").trainableParameterCount()).isEqualTo(TestModels.HEAD); // untouched
        }
    }

    @Test
    void badConfig() {
        assertThatThrownBy(() -> method.parseConfig(section("modules-to-save = pooler, r = 4"))).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("modules-to-save").hasMessageContaining("r");
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            assertThatThrownBy(() -> method.apply(task, new BitFitConfig(List.of("poolr")), TestModels.context(task.bert)))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("modules-to-save entries [poolr]");
        }
    }

    static com.typesafe.config.Config section(String overrides) {
        return ConfigFactory.parseString(overrides).withFallback(ConfigFactory.defaultReference().getConfig("peft4j.methods.bitfit"));
    }
}
