package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Small command-line faults found by trying the tool as a new user (issue #15). */
class CommandHygieneTest {
    @Test
    void everyCommandsHelpPrintsWithoutPicocliWarnings() {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            for (String command : new String[] {"train", "sweep", "merge", "eval", "predict", "encode", "generate", "bench", "inspect", "plugins", "validate"}) {
                Peft4jCliTest.Run run = Peft4jCliTest.run(command, "--help");
                assertThat(run.exitCode()).as(command).isZero();
            }
            assertThat(Peft4jCliTest.run("--help").exitCode()).isZero();
        } finally {
            System.setErr(saved);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).doesNotContain("picocli WARN");
    }

    @Test
    void predictInputLinesAreJsonObjectsOrPlainTextAndBadFieldsNameTheLine() {
        assertThat(PredictCommand.parse("{not json, just braces}", "stdin:1").fields()).containsEntry("text", "{not json, just braces}");
        assertThat(PredictCommand.parse("{\"text\": \"a\", \"text_pair\": \"b\"}", "stdin:2").fields())
                .containsEntry("text", "a").containsEntry("text_pair", "b");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PredictCommand.parse("{\"text\": null}", "in.txt:3"))
                .isInstanceOf(dev.peft4j.api.Peft4jException.class).hasMessage("in.txt:3: \"text\" is null, expected a string");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PredictCommand.parse("{\"tokens\": [1, 2]}", "in.txt:4"))
                .hasMessage("in.txt:4: \"tokens\" holds 1, expected strings only");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PredictCommand.parse("{\"sentence\": \"x\"}", "in.txt:5"))
                .hasMessageContaining("in.txt:5: expected a JSON object with \"text\"").hasMessageContaining("[sentence]");
    }

    @Test
    void predictRefusesANonPositiveBatchSizeAsAUsageError() {
        Peft4jCliTest.Run run = Peft4jCliTest.run("predict", "/no/such/run", "--batch-size=0");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("--batch-size must be positive, got 0").doesNotContain("IllegalArgumentException");
    }
}
