package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;

import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.config.DataSettings;
import dev.peft4j.runtime.config.ValidatedExperiment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every shipped example validates (keys, types, registered names, every component's config); nothing is loaded. */
class ExamplesTest {
    @Test
    void everyExampleConfigValidates() throws IOException {
        List<Path> examples;
        try (Stream<Path> s = Files.list(QualityGateTest.EXAMPLES)) {
            // plugin-*.conf need the example plugin jar (the cli tests cover them)
            examples = s.filter(p -> p.toString().endsWith(".conf") && !p.getFileName().toString().startsWith("plugin-")).sorted().toList();
        }
        assertThat(examples).extracting(p -> p.getFileName().toString()).contains("sst2-lora.conf", "sst2-full.conf", "mrpc-lora.conf",
                "stsb-lora.conf", "conll-lora.conf", "wordnet-lora.conf");
        try (Peft4j peft4j = Peft4j.builder().build()) {
            for (Path example : examples) {
                ValidatedExperiment v = peft4j.experiment(example, "peft4j.data=/data").validate();
                assertThat(v.head()).as(example.toString()).isPresent();
                assertThat(v.datasets()).as(example.toString()).containsKey("train");
                assertThat(v.settings(TrainConfig.class).epochs()).isPositive();
                assertThat(v.settings(DataSettings.class)).isNotNull();
            }
        }
    }
}
