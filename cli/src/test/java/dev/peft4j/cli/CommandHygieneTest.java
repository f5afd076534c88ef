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
            for (String command : new String[] {"train", "eval", "predict", "encode", "generate", "bench", "inspect", "plugins", "validate"}) {
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
    void predictRefusesANonPositiveBatchSizeAsAUsageError() {
        Peft4jCliTest.Run run = Peft4jCliTest.run("predict", "/no/such/run", "--batch-size=0");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("--batch-size must be positive, got 0").doesNotContain("IllegalArgumentException");
    }
}
