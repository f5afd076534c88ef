package dev.peft4j.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.pytorch.jni.JniUtils;
import dev.peft4j.api.Peft4jException;
import org.junit.jupiter.api.Test;

class EnginesTest {
    @Test
    void startsPyTorchOfflineAndRejectsBadThreadCounts() {
        assertThat(Engines.pytorch().getEngineName()).isEqualTo("PyTorch");
        assertThat(System.getProperty("ai.djl.offline")).isEqualTo("true");
        String before = System.getProperty(Engines.THREADS_PROPERTY);
        try {
            System.setProperty(Engines.THREADS_PROPERTY, "zero");
            assertThatThrownBy(Engines::pytorch).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("peft4j.threads").hasMessageContaining("\"zero\"").hasMessageContaining("positive integer");
            System.setProperty(Engines.THREADS_PROPERTY, "0");
            assertThatThrownBy(Engines::pytorch).isInstanceOf(Peft4jException.class);
            // after start-up the intra-op pool is set directly
            int original = JniUtils.getNumThreads();
            System.setProperty(Engines.THREADS_PROPERTY, "1");
            Engines.pytorch();
            assertThat(JniUtils.getNumThreads()).isEqualTo(1);
            JniUtils.setNumThreads(original);
        } finally {
            if (before == null) {
                System.clearProperty(Engines.THREADS_PROPERTY);
            } else {
                System.setProperty(Engines.THREADS_PROPERTY, before);
            }
        }
    }
}
