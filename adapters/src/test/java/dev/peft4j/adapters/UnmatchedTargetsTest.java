package dev.peft4j.adapters;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import dev.peft4j.adapters.bottleneck.BottleneckMethod;
import dev.peft4j.adapters.ia3.Ia3Method;
import dev.peft4j.adapters.lntuning.LayerNormTuningMethod;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.spi.AdapterMethodFactory;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue #12's bad input, for every method of this module that selects modules: a pattern that matches nothing is an error
 * that names the key and the pattern and lists real module names of the model; a reduction factor that does not divide
 * the hidden size names its key. Nothing is changed by a failed apply. (LoRA's are in {@code TargetSelectorTest}.)
 */
class UnmatchedTargetsTest {
    static Stream<Arguments> cases() {
        String names = "Module names in this model: [bert, embeddings, word_embeddings";
        return Stream.of(
                Arguments.of(new Ia3Method(), "target-modules = [nope, query]", "method ia3: target-modules entries [nope] match no module. " + names),
                Arguments.of(new Ia3Method(), "target-modules = \"nope.*\"", "method ia3: target-modules 'nope.*' matches no Linear module. " + names),
                Arguments.of(new LayerNormTuningMethod(), "target-modules = [Layernorm]",
                        "method layernorm-tuning: target-modules [Layernorm] matches no LayerNorm/RMSNorm module. " + names),
                Arguments.of(new FullFineTuningMethod(), "freeze = [nope]", "freeze entries [nope] match no module path or parameter name. " + names),
                Arguments.of(new FullFineTuningMethod(), "learning-rate-scale { nope = 2 }",
                        "learning-rate-scale entries [nope] match no module path or parameter name. " + names),
                Arguments.of(new BitFitMethod(), "modules-to-save = [poller]", "modules-to-save entries [poller] match no module path or parameter name. " + names),
                Arguments.of(new BottleneckMethod(), "reduction-factor = 7",
                        "method bottleneck: reduction-factor 7 does not divide the hidden size 32 (divisors near it:"));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("cases")
    <C> void aPatternThatMatchesNothingNamesKeyPatternAndRealModules(AdapterMethodFactory<C> method, String settings, String message) {
        try (NDManager m = NDManager.newBaseManager(); TestModels.Task task = new TestModels.Task(m, 1)) {
            long trainable = task.trainableParameterCount();
            long parameters = task.parameterCount();
            assertThatThrownBy(() -> method.apply(task, method.parseConfig(TestModels.section(method.name(), settings)), TestModels.context(task.bert)))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining(message);
            org.assertj.core.api.Assertions.assertThat(task.trainableParameterCount()).isEqualTo(trainable);
            org.assertj.core.api.Assertions.assertThat(task.parameterCount()).isEqualTo(parameters);
        }
    }
}
