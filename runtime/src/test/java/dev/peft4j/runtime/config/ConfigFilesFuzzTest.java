package dev.peft4j.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.peft4j.adapters.ia3.PeftIa3Files;
import dev.peft4j.adapters.lntuning.LayerNormTuningModel;
import dev.peft4j.adapters.prompt.PeftPromptFiles;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigProblem;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.lora.PeftAdapterConfig;
import dev.peft4j.runtime.Peft4j;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * Property-based fuzzing (jqwik) of the configuration files peft4j reads from outside: HOCON experiment files
 * (through the whole validator, as {@code peft4j validate} runs it) and PEFT {@code adapter_config.json} files
 * (LoRA, IA3, prefix/prompt tuning readers). The property: a valid result, or a peft4j error that locates the
 * problem (every {@link ConfigProblem} has an origin, {@code file:line}; an adapter config error names its file);
 * never another exception, never more than {@link #BOUND}. Tries: 300 experiment files, 300 adapter configs x 4 readers.
 */
class ConfigFilesFuzzTest {
    static final Duration BOUND = Duration.ofSeconds(30); // a hang bound; one validation takes milliseconds on a quiet host
    private static final Peft4j PEFT4J = Peft4j.builder().build();

    @AfterContainer
    static void close() {
        PEFT4J.close();
    }

    @Provide
    Arbitrary<String> experiment() {
        Arbitrary<String> keys = Arbitraries.of("model.source", "model.max-length", "method.name", "method", "method.r", "method.alpha",
                "method.target-modules", "head.name", "head.num-labels", "train.epochs", "train.learning-rate", "train.metric",
                "train.batch-size", "data.train.path", "data.train.format", "data.bad-rows", "data.labels", "data.holdout", "run.name",
                "run.dir", "objectives", "teacher.run", "peft4j.methods.lora.r", "nonsense.key", "\"quoted key\"", "a.b.c.d.e");
        Arbitrary<String> values = Arbitraries.of("lora", "full", "ia3", "prefix-tuning", "sequence-classification", "causal-lm", "tsv",
                "skip", "fail", "maybe", "1", "0", "-7", "1.5", "1e999", "9999999999999", "null", "true", "\"\"", "\"x\"", "[query, value]",
                "[]", "{}", "[1, \"a\"]", "{ name = lora }", "${train.epochs}", "${?HOME}", "${nope}", "\"\\u0000\"", "bleu", "accuracy",
                "\"/nonexistent/file.tsv\"");
        Arbitrary<String> assignment = Combinators.combine(keys, Arbitraries.of(" = ", ": ", " ", " += ", "="), values)
                .as((k, op, v) -> k + op + v + "\n");
        Arbitrary<String> junk = Arbitraries.of("{", "}", "[", "]", ",", "\"", "#", "//", "\n", "=", "include \"nope.conf\"\n",
                "include required(file(\"/nonexistent.conf\"))\n", "a = ${a}\n", "\uFEFF", "\\", "'", "\t");
        Arbitrary<String> piece = Arbitraries.frequencyOf(Tuple.of(5, assignment), Tuple.of(1, junk));
        Arbitrary<String> skeleton = Arbitraries.of("", "model.source = tiny\nmethod.name = lora\nhead.name = sequence-classification\n",
                "model.source = tiny\nmethod { name = lora, r = 4 }\n");
        return Combinators.combine(skeleton, piece.list().ofMaxSize(12)).as((s, l) -> s + String.join("", l));
    }

    @Property(tries = 300, seed = "20261203")
    void experimentFilesValidateOrLocateEveryProblem(@ForAll("experiment") String text) throws IOException {
        Path dir = Files.createTempDirectory("peft4j-fuzz-conf");
        Path file = dir.resolve("experiment.conf");
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
            String outcome = assertTimeoutPreemptively(BOUND, () -> {
                try {
                    PEFT4J.experiment(file).validate();
                    return "valid";
                } catch (InvalidConfigException e) {
                    assertThat(e.problems()).isNotEmpty();
                    for (ConfigProblem p : e.problems()) {
                        assertThat(p.origin()).as("origin of " + p).isNotBlank();
                    }
                    return "invalid";
                } catch (Peft4jException e) {
                    assertThat(e.getMessage()).as("a config error names its file").contains(file.toString());
                    return "invalid";
                }
            }, () -> "validating took longer than " + BOUND);
            Statistics.collect(outcome);
            Statistics.coverage(c -> {
                c.check("valid").count(n -> n >= 5);
                c.check("invalid").count(n -> n >= 50);
            });
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    @Provide
    Arbitrary<String> adapterConfig() {
        Arbitrary<String> value = Arbitraries.of("1", "0", "-3", "8", "8.5", "1e400", "\"LORA\"", "\"IA3\"", "\"LN_TUNING\"", "\"PREFIX_TUNING\"", "\"PROMPT_TUNING\"",
                "\"x\"", "\"\"", "null", "true", "false", "[]", "[\"query\", \"value\"]", "[1, \"a\"]", "[null]", "{}", "{\"query\": 2}",
                "{\"query\": \"a\"}", "\"query|value\"", "\"(\"", "\"gaussian\"", "\"pissa\"", "\"none\"", "\"SEQ_CLS\"", "[0, 1]", "[-1]");
        Arbitrary<String> key = Arbitraries.of("peft_type", "r", "lora_alpha", "lora_dropout", "target_modules", "exclude_modules",
                "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern", "init_lora_weights", "bias", "modules_to_save",
                "use_dora", "use_rslora", "fan_in_fan_out", "task_type", "feedforward_modules", "num_virtual_tokens", "token_dim",
                "num_layers", "num_attention_heads", "num_transformer_submodules", "prompt_tuning_init", "encoder_hidden_size",
                "prefix_projection", "inference_mode", "base_model_name_or_path");
        Arbitrary<String> object = Combinators.combine(key, value).as((k, v) -> "\"" + k + "\": " + v).list().ofMaxSize(14)
                .map(l -> "{" + String.join(", ", l) + "}");
        Arbitrary<String> junk = Arbitraries.of("", "[]", "null", "{", "{\"peft_type\": \"LORA\", \"r\": 8", "\"LORA\"", "{\"r\": 8}}", "\uFEFF{}");
        return Arbitraries.frequencyOf(Tuple.of(9, object), Tuple.of(1, junk));
    }

    private static final Map<String, Function<Path, Object>> ADAPTER_READERS = Map.of(
            "lora", dir -> PeftAdapterConfig.read(dir, "default"),
            "ia3", PeftIa3Files::readConfig,
            "prompt", PeftPromptFiles::readConfig,
            "layernorm-tuning", LayerNormTuningModel::readConfig);

    @Property(tries = 300, seed = "20261203")
    void adapterConfigsLoadOrNameTheirFile(@ForAll("adapterConfig") String json) throws IOException {
        Path dir = Files.createTempDirectory("peft4j-fuzz-adapter");
        Path file = dir.resolve("adapter_config.json");
        try {
            Files.writeString(file, json, StandardCharsets.UTF_8);
            for (Map.Entry<String, Function<Path, Object>> reader : ADAPTER_READERS.entrySet()) {
                String outcome = assertTimeoutPreemptively(BOUND, () -> {
                    try {
                        assertThat(reader.getValue().apply(dir)).isNotNull();
                        return "valid";
                    } catch (Peft4jException e) {
                        assertThat(e.getMessage()).as(reader.getKey() + ": the error names the file").contains(dir.toString());
                        return "invalid";
                    }
                }, () -> reader.getKey() + " took longer than " + BOUND);
                Statistics.label(reader.getKey()).collect(outcome);
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }
}
