package dev.peft4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.llama.LlamaConfig;
import dev.peft4j.models.llama.LlamaForCausalLM;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code model.keep-layers}: a student made of some of the checkpoint's layers (DistilBERT's initialisation). */
class LayerSubsetTest {
    static NDManager base;

    @BeforeAll
    static void start() {
        Engines.pytorch();
        base = NDManager.newBaseManager();
    }

    @AfterAll
    static void stop() {
        base.close();
    }

    /** Each kept parameter equals the checkpoint's under the renumbered name; nothing else is in the model. */
    private static void assertSubset(TransformerModel full, TransformerModel subset, String layerPrefix, List<Integer> keep) {
        Map<String, Parameter> fullParams = full.module().namedParameters();
        Map<String, Parameter> subParams = subset.module().namedParameters();
        long perLayer = fullParams.entrySet().stream().filter(e -> e.getKey().startsWith(layerPrefix + "0.")).mapToLong(e -> e.getValue().size()).sum();
        int layers = (int) fullParams.keySet().stream().filter(k -> k.startsWith(layerPrefix)).map(k -> k.substring(layerPrefix.length()).split("\\.")[0])
                .distinct().count();
        assertThat(subset.module().parameterCount()).isEqualTo(full.module().parameterCount() - (layers - keep.size()) * perLayer);
        for (Map.Entry<String, Parameter> e : subParams.entrySet()) {
            String name = e.getKey();
            String source = name;
            if (name.startsWith(layerPrefix)) {
                String rest = name.substring(layerPrefix.length());
                int dot = rest.indexOf('.');
                source = layerPrefix + keep.get(Integer.parseInt(rest.substring(0, dot))) + rest.substring(dot);
            }
            assertThat(e.getValue().value().toFloatArray()).as(name + " <- " + source).containsExactly(fullParams.get(source).value().toFloatArray());
        }
    }

    @Test
    void bertKeepsTheNamedLayersRenumberedAndEverythingOutsideTheStack(@TempDir Path dir) {
        BertConfig config = BertConfig.of(120, 32, 4, 4, 64, 40);
        try (BertModel full = BertModel.random(config, base, 3, true)) {
            Models.save(full, dir.resolve("teacher"));
            List<Integer> keep = List.of(0, 2, 3);
            try (TransformerModel student = LayerSubset.load(dir.resolve("teacher"), keep, Device.cpu(), "model.keep-layers")) {
                assertThat(student.config().integer("num_hidden_layers")).isEqualTo(3);
                assertThat(student.module().namedParameters()).containsKey("pooler.dense.weight").doesNotContainKey("encoder.layer.3.output.dense.weight");
                assertSubset(full, student, "encoder.layer.", keep);
                // the config names the source, not the deleted temporary directory, and the student saves and loads back
                assertThat(student.config().source()).isEqualTo(dir.resolve("teacher").toAbsolutePath().resolve("config.json").toString());
                Models.save(student, dir.resolve("student"));
                try (TransformerModel again = Models.load(dir.resolve("student"), Device.cpu())) {
                    assertThat(again.config().integer("num_hidden_layers")).isEqualTo(3);
                    assertSubset(full, again, "encoder.layer.", keep);
                }
            }
        }
    }

    @Test
    void llamaKeepsTheNamedLayersAndTheTiedHead(@TempDir Path dir) {
        Map<String, Object> values = new LinkedHashMap<>(Map.of("model_type", "llama", "vocab_size", 32, "hidden_size", 16,
                "intermediate_size", 24, "num_hidden_layers", 5, "num_attention_heads", 4, "num_key_value_heads", 2,
                "tie_word_embeddings", true));
        try (LlamaForCausalLM full = LlamaForCausalLM.random(LlamaConfig.fromMap(values), base, 1)) {
            Models.save(full, dir.resolve("teacher"));
            List<Integer> keep = List.of(1, 4);
            try (TransformerModel student = LayerSubset.load(dir.resolve("teacher"), keep, Device.cpu(), "model.keep-layers")) {
                assertThat(student.config().integer("num_hidden_layers")).isEqualTo(2);
                assertThat(student.isCausalLm()).isTrue();
                assertSubset(full, student, "model.layers.", keep);
            }
        }
    }

    @Test
    void outOfRangeUnsortedRepeatedOrEmptyListsAreRefusedNamingKeyAndValues(@TempDir Path dir) {
        try (BertModel full = BertModel.random(BertConfig.of(120, 32, 4, 4, 64, 40), base, 3)) {
            Models.save(full, dir.resolve("teacher"));
        }
        Path teacher = dir.resolve("teacher");
        assertThatThrownBy(() -> LayerSubset.load(teacher, List.of(0, 4), Device.cpu(), "model.keep-layers"))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("model.keep-layers = [0, 4]")
                .hasMessageContaining("layer 4 does not exist").hasMessageContaining("has 4 layers (0..3)");
        assertThatThrownBy(() -> LayerSubset.load(teacher, List.of(2, 0), Device.cpu(), "model.keep-layers"))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("[2, 0]").hasMessageContaining("not strictly increasing (2 then 0)");
        assertThat(LayerSubset.checkOrder(List.of(1, 1))).singleElement().asString().contains("1 then 1");
        assertThat(LayerSubset.checkOrder(List.of())).singleElement().asString().contains("empty");
        assertThat(LayerSubset.checkOrder(List.of(-1, 2))).singleElement().asString().contains("-1");
        assertThat(dir.toFile().getParentFile().toPath()).exists();
    }
}
