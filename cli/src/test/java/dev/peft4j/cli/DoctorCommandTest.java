package dev.peft4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** peft4j doctor on this machine: the CPU libtorch from the class path, honest about the missing GPU. */
class DoctorCommandTest {
    record Run(int code, String out) {}

    static Run doctor(String... args) {
        StringWriter out = new StringWriter();
        var cli = Peft4jCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(new StringWriter()));
        String[] all = new String[args.length + 1];
        all[0] = "doctor";
        System.arraycopy(args, 0, all, 1, args.length);
        return new Run(cli.execute(all), out.toString());
    }

    @Test
    void reportsEngineFlavourPathDevicesThreadsAndAVerdict() {
        Assumptions.assumeTrue(System.getenv("PYTORCH_LIBRARY_PATH") == null, "PYTORCH_LIBRARY_PATH is set");
        Run run = doctor();
        assertThat(run.code()).isZero();
        assertThat(run.out()).contains("engine:           PyTorch (DJL 0.35.1)\n")
                .contains("libtorch:         2.7.1, flavour cpu\n")
                .containsPattern("libtorch path:    .*\\.djl\\.ai.*2\\.7\\.1")
                .containsPattern("threads:          intra-op \\d+, inter-op \\d+")
                .contains("PYTORCH_LIBRARY_PATH: (unset)")
                .contains("ai.djl.offline:   true");
        Run gpu = doctor("--require-gpu");
        if (run.out().contains("GPUs visible to libtorch: 0)")) {
            assertThat(run.out()).contains("devices:          cpu() (GPUs visible to libtorch: 0)")
                    .contains("verdict:          CPU only: the loaded libtorch is the cpu build, which cannot use a GPU; training runs on the CPU."
                            + " For a GPU, see docs/gpu.md");
            assertThat(gpu.code()).isEqualTo(1);
        } else {
            assertThat(gpu.code()).isZero();
        }
    }
}
