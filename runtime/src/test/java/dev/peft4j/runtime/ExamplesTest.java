package dev.peft4j.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.plugin.JarBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every config under {@code examples/} parses and validates, with the built-in plugins and the
 * example third-party plugin (built from plugins-example's sources into a plugin directory), as
 * {@code peft4j validate examples/X.conf --plugins DIR} would.
 */
class ExamplesTest {
    @TempDir
    Path tmp;

    @Test
    void everyExampleValidates() throws Exception {
        Path plugins = Files.createDirectories(tmp.resolve("plugins"));
        JarBuilder.examplePlugin(plugins.resolve("peft4j-plugins-example.jar"));
        List<Path> examples;
        try (Stream<Path> s = Files.list(Path.of("..", "examples"))) {
            examples = s.filter(p -> p.toString().endsWith(".conf")).sorted().toList();
        }
        assertThat(examples).extracting(p -> p.getFileName().toString()).contains("sst2-lora.conf", "plugin-layernorm-tuning.conf");
        try (Peft4j peft4j = Peft4j.builder().pluginDir(plugins).build()) {
            for (Path example : examples) {
                ValidatedExperiment v = peft4j.experiment(example).validate();
                assertThat(v.model().source()).as(example.toString()).isNotEmpty();
                assertThat(v.datasets()).as(example.toString()).containsKey("train");
            }
        }
    }
}
