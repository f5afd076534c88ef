package dev.peft4j.api.tuner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Embedding;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import org.junit.jupiter.api.Test;

/** The shared tuner base: PEFT's target rules and key names, as every method uses them. */
class ModulePatternsTest {
    static final class Block extends Module {
        Block(NDManager m) {
            super(ModuleType.ATTENTION);
            addChild("query", new Linear(m, 4, 4, true));
            addChild("value", new Linear(m, 4, 2, false));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext ctx) {
            throw new UnsupportedOperationException();
        }
    }

    static final class Root extends Module {
        Root(NDManager m) {
            super(ModuleType.MODEL);
            addChild("embeddings", new Embedding(m, 10, 4));
            addChild("block", new Block(m));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext ctx) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void peftsListRuleIsExactOrDottedSuffix() {
        assertThat(ModulePatterns.matchesEntry("query", "block.query")).isTrue();
        assertThat(ModulePatterns.matchesEntry("block.query", "block.query")).isTrue();
        assertThat(ModulePatterns.matchesEntry("query", "block.subquery")).isFalse();
        assertThat(ModulePatterns.regex("block\\.(query|value)").matchesName("block.value")).isTrue();
        assertThat(ModulePatterns.regex("query").matchesName("block.query")).as("a regex matches the whole path").isFalse();
    }

    @Test
    void selectModulesReturnsMatchesOfTheKindOrNamesTheKeyAndRealModules() {
        try (NDManager m = NDManager.newBaseManager()) {
            Root root = new Root(m);
            assertThat(ModulePatterns.names("query", "value").selectModules(root, "ia3", "target-modules", x -> x instanceof Linear, "Linear",
                    p -> false)).containsExactly("block.query", "block.value");
            assertThatThrownBy(() -> ModulePatterns.names("qkv").selectModules(root, "ia3", "target-modules", x -> x instanceof Linear, "Linear",
                    p -> false)).isInstanceOf(Peft4jException.class)
                    .hasMessageStartingWith("method ia3: target-modules [qkv] matches no Linear module. Module names in this model: ")
                    .hasMessageContaining("query");
            assertThatThrownBy(() -> ModulePatterns.names("query", "nothing").selectModules(root, "ia3", "target-modules",
                    x -> x instanceof Linear, "Linear", p -> false)).hasMessageContaining("entries [nothing] match no module");
            assertThatThrownBy(() -> ModulePatterns.names("embeddings").selectModules(root, "ia3", "target-modules", x -> x instanceof Linear,
                    "Linear", p -> false)).hasMessageContaining("matched modules that are not Linear: [embeddings (Embedding)]");
        }
    }

    @Test
    void peftKeys() {
        assertThat(PeftKeys.key("bert.encoder.layer.0.attention.self.key", "ia3_l")).isEqualTo("base_model.model.bert.encoder.layer.0.attention.self.key.ia3_l");
        assertThat(PeftKeys.key("classifier.weight")).isEqualTo("base_model.model.classifier.weight");
        assertThat(PeftKeys.name("base_model.model.classifier.weight")).isEqualTo("classifier.weight");
    }
}
