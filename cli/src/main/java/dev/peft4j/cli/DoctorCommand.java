package dev.peft4j.cli;

import dev.peft4j.models.EngineReport;
import java.io.PrintWriter;
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

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        EngineReport report = EngineReport.collect();
        report.lines().forEach(out::println);
        out.flush();
        if (!report.started() || (requireGpu && report.gpuCount() == 0)) {
            return 1;
        }
        return 0;
    }
}
