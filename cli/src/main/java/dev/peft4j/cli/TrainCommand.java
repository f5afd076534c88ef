package dev.peft4j.cli;

import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code peft4j train EXP.conf [key=value...]}: validates the experiment, trains with a progress bar on
 * stderr, and prints the final metrics and the report's path on stdout. A run directory that holds a
 * checkpoint is resumed from it.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train an experiment (HOCON file) and write metrics, checkpoints, the trained adapter and head, and report.html.")
final class TrainCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "EXP.conf", description = "The experiment file.")
    Path experiment;

    @Parameters(index = "1..*", paramLabel = "KEY=VALUE", description = "Overrides, e.g. train.epochs=3 run.name=try2.")
    List<String> overrides;

    @Option(names = "--plugins", paramLabel = "DIR", description = "A directory of plugin jars (overrides plugins.dir).")
    Path plugins;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Peft4j peft4j = RunCommands.host(plugins)) {
            RunResult result = peft4j.experiment(experiment, RunCommands.overrides(overrides)).run();
            result.metrics().forEach((k, v) -> out.printf(Locale.ROOT, "%s=%s%n", k, v == Math.rint(v) && Math.abs(v) < 1e15
                    ? String.valueOf(v.longValue()) : String.format(Locale.ROOT, "%.4f", v)));
            out.println("run: " + result.runDirectory().toAbsolutePath());
            out.println("report: " + result.runDirectory().resolve("report.html").toAbsolutePath());
        }
        out.flush();
        return 0;
    }
}
