package dev.peft4j.cli;

import dev.peft4j.models.EngineReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code peft4j doctor}: which engine, libtorch (version, flavour, folder) and devices this machine gives
 * peft4j, the thread pools, the variables that choose them, and a verdict. Exit code 0 when the engine
 * starts (and, with {@code --require-gpu}, sees a GPU), 1 otherwise.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Show the PyTorch engine, libtorch flavour and path, devices and threads peft4j finds here, with a verdict (docs/gpu.md).")
final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--require-gpu", description = "Exit with 1 unless libtorch sees a GPU (for scripts such as tools/gpu-check.sh).")
    boolean requireGpu;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * Which of SIGHUP, SIGINT and SIGTERM this process ignores, from a Linux {@code /proc/PID/status} ({@code SigIgn}:
     * bit n-1 for signal n); null where the file or the line is missing. A process started in the background by a shell
     * without job control ({@code cmd &} in a script, many CI runners) inherits SIGINT as ignored, and the JVM keeps it so.
     */
    static List<String> ignoredSignals(Path status) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("SigIgn:")) {
                    long mask = Long.parseUnsignedLong(line.substring("SigIgn:".length()).strip(), 16);
                    List<String> ignored = new ArrayList<>();
                    if ((mask & 1L) != 0) { // SIGHUP = 1
                        ignored.add("SIGHUP");
                    }
                    if ((mask & 1L << 1) != 0) { // SIGINT = 2
                        ignored.add("SIGINT");
                    }
                    if ((mask & 1L << 14) != 0) { // SIGTERM = 15
                        ignored.add("SIGTERM");
                    }
                    return ignored;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or an unreadable status: unknown
        }
        return null;
    }

    static String signalsLine(List<String> ignored) {
        String head = "stop signals:     ";
        if (ignored == null) {
            return head + "SIGINT/SIGTERM stop training at the next step with a checkpoint (exit 130/143), unless ignored (not known here)";
        }
        if (ignored.contains("SIGINT") || ignored.contains("SIGTERM")) {
            return head + String.join(", ", ignored) + " ignored in this process (inherited: started in the background without job control,"
                    + " or by nohup); " + (ignored.contains("SIGTERM") ? "stop a run with SIGKILL, and resume it from its last checkpoint"
                    : "stop a run with SIGTERM (kill PID): it stops at the next step with a checkpoint");
        }
        return head + "SIGINT (Ctrl-C) and SIGTERM stop training at the next step with a checkpoint (exit 130/143)"
                + (ignored.contains("SIGHUP") ? "; SIGHUP ignored (nohup)" : "");
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        EngineReport report = EngineReport.collect();
        for (String line : report.lines()) {
            if (line.startsWith("verdict:")) {
                out.println(signalsLine(ignoredSignals(Path.of("/proc/self/status"))));
            }
            out.println(line);
        }
        out.flush();
        if (!report.started() || (requireGpu && report.gpuCount() == 0)) {
            return 1;
        }
        return 0;
    }
}
