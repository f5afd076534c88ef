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
        assertThat(run.out()).containsPattern("stop signals:     .*\nverdict:");
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

    /** The stop-signal line reads the SigIgn mask: a run started by {@code cmd &} in a script ignores SIGINT, said with the way out. */
    @Test
    void tellsWhetherCtrlCStillStopsARun(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path status = dir.resolve("status");
        java.nio.file.Files.writeString(status, "Name:\tjava\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000006\nSigCgt:\t0000000000004a03\n");
        assertThat(DoctorCommand.ignoredSignals(status)).containsExactly("SIGINT");
        assertThat(DoctorCommand.signalsLine(DoctorCommand.ignoredSignals(status))).isEqualTo("stop signals:     SIGINT ignored in this process"
                + " (inherited: started in the background without job control, or by nohup); stop a run with SIGTERM (kill PID): it stops at the"
                + " next step with a checkpoint");
        java.nio.file.Files.writeString(status, "SigIgn:\t0000000000000001\n");
        assertThat(DoctorCommand.signalsLine(DoctorCommand.ignoredSignals(status))).isEqualTo("stop signals:     SIGINT (Ctrl-C) and SIGTERM stop"
                + " training at the next step with a checkpoint (exit 130/143); SIGHUP ignored (nohup)");
        java.nio.file.Files.writeString(status, "SigIgn:\t0000000000004002\n");
        assertThat(DoctorCommand.ignoredSignals(status)).containsExactly("SIGINT", "SIGTERM");
        assertThat(DoctorCommand.ignoredSignals(dir.resolve("missing"))).isNull();
        // end to end: peft4j doctor in a child JVM started with SIGINT ignored, and with it at its default (GNU env)
        Assumptions.assumeTrue(StopSignalStressTest.DEFAULT_SIGNALS.size() > 0, "no env --default-signal here");
        // (SIGHUP may be ignored too, inherited from a nohup around the build)
        assertThat(childDoctor("--ignore-signal=INT")).containsPattern("stop signals:     (SIGHUP, )?SIGINT ignored in this process");
        assertThat(childDoctor("--default-signal=INT,TERM,HUP")).contains("stop signals:     SIGINT (Ctrl-C) and SIGTERM stop training");
    }

    private static String childDoctor(String envOption) throws Exception {
        Process p = new ProcessBuilder("env", envOption, java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Peft4jCli.class.getName(), "doctor")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
