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

    /** On a machine where libtorch sees no GPU, asking for one says what was found and where the GPU route is documented. */
    @Test
    void aGpuThatIsNotThereIsAnErrorListingWhatWasFound() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Engines.pytorch().getGpuCount() == 0, "this machine has a GPU");
        for (String setting : new String[] {"gpu", "gpu:0", "GPU:1"}) {
            assertThatThrownBy(() -> Engines.device(setting)).isInstanceOf(Peft4jException.class)
                    .hasMessageStartingWith("device \"" + setting + "\": the engine sees 0 GPU(s)")
                    .hasMessageContaining("docs/gpu.md")
                    .hasMessageContaining("Found: engine PyTorch 2.7.1 (cpu) from ")
                    .hasMessageContaining("devices [cpu()]")
                    .hasMessageContaining("PYTORCH_LIBRARY_PATH=");
        }
        assertThat(Engines.device("auto")).isEqualTo(ai.djl.Device.cpu());
        assertThatThrownBy(() -> Engines.device("cuda")).hasMessage("device \"cuda\" is not valid; expected auto, cpu, gpu or gpu:N (N = 0, 1, ...)");
    }

    @Test
    void theEngineReportNamesTheCpuLibtorchFromTheClassPath() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("PYTORCH_LIBRARY_PATH") == null, "PYTORCH_LIBRARY_PATH is set");
        EngineReport report = EngineReport.collect();
        assertThat(report.started()).isTrue();
        assertThat(report.libtorchVersion()).isEqualTo("2.7.1");
        assertThat(report.flavour()).isEqualTo("cpu");
        assertThat(report.libtorchPath()).contains(".djl.ai").contains("2.7.1");
        assertThat(report.source()).startsWith("DJL's cache");
        assertThat(report.intraOpThreads()).isPositive();
        if (report.gpuCount() == 0) {
            assertThat(report.verdict()).startsWith("CPU only: the loaded libtorch is the cpu build");
        }
        assertThat(report.lines()).anySatisfy(l -> assertThat(l).startsWith("libtorch:         2.7.1, flavour cpu"));
    }
}
