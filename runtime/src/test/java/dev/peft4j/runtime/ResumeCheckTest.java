package dev.peft4j.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumeCheckTest {
    @TempDir
    Path dir;

    @Test
    void namesEveryChangedKeyWithBothValuesAndIgnoresNumberSpelling() {
        var before = ConfigFactory.parseString("train { epochs = 3, learning-rate = 1e-3, eval-batch-size = 64 }, method.r = 8");
        var now = ConfigFactory.parseString("train { epochs = 2, learning-rate = 0.001, eval-batch-size = 8 }, method { r = 8, alpha = 16 }");
        assertThat(ResumeCheck.changes(before, now)).containsExactly("method.alpha: (unset) -> 16", "train.epochs: 3 -> 2");
    }

    @Test
    void refusesAChangedRunOnlyWhenItHasACheckpoint() throws Exception {
        Files.writeString(dir.resolve("resolved.conf"), "train { epochs = 3 }\n");
        var changed = ConfigFactory.parseString("train { epochs = 2 }");
        ResumeCheck.check(dir, changed); // no checkpoint: a finished-and-cleaned or fresh directory is not resumed
        Files.createDirectories(dir.resolve("checkpoints/last"));
        assertThatThrownBy(() -> ResumeCheck.check(dir, changed)).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("train.epochs: 3 -> 2").hasMessageContaining(dir.toString());
        ResumeCheck.check(dir, ConfigFactory.parseString("train { epochs = 3.0 }"));
    }
}
