package dev.peft4j.cli;

import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.sweep.Sweep;
import dev.peft4j.runtime.sweep.SweepPlan;
import dev.peft4j.runtime.sweep.SweepSummary;
import dev.peft4j.runtime.sweep.TrialResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code peft4j sweep EXP.conf --grid KEY=V1,V2 ... | --random N --range KEY=LOW:HIGH[:log] ...}: runs the trials one
 * after another, each a normal run directory under the sweep directory, and writes {@code summary.md},
 * {@code summary.csv} and {@code sweep.html} there. Running the same command again resumes the sweep.
 */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = "Run a hyper-parameter sweep (grid or seeded random) of an experiment, one trial after another; resumable.")
final class SweepCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "EXP.conf", description = "The experiment file.")
    Path experiment;

    @Parameters(index = "1..*", paramLabel = "KEY=VALUE", description = "Overrides for every trial, e.g. train.epochs=1.")
    List<String> overrides;

    @Option(names = "--grid", paramLabel = "KEY=V1,V2,...",
            description = "A key and its values (repeatable): every combination runs; with --random, one value is drawn per trial.")
    List<String> grid = new ArrayList<>();

    @Option(names = "--range", paramLabel = "KEY=LOW:HIGH[:SCALE]",
            description = "With --random: a value drawn per trial, SCALE lin (default), log (log-uniform) or int (whole numbers).")
    List<String> ranges = new ArrayList<>();

    @Option(names = "--random", paramLabel = "N", description = "N random trials instead of the full grid.")
    Integer random;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the random trials (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "The sweep directory (default: sweeps/<EXP file name without .conf>).")
    Path directory;

    @Option(names = "--plugins", paramLabel = "DIR", description = "A directory of plugin jars (overrides plugins.dir).")
    Path plugins;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        SweepPlan plan = SweepPlan.parse(grid, ranges, random, seed);
        Path dir = directory != null ? directory : Path.of("sweeps", experiment.getFileName().toString().replaceFirst("\\.conf$", ""));
        int exit;
        try (Peft4j peft4j = RunCommands.host(plugins)) {
            List<TrialResult> results = new Sweep(peft4j, experiment, List.of(RunCommands.overrides(overrides)), dir, plan).run();
            long done = results.stream().filter(r -> r.status() == TrialResult.Status.DONE).count();
            out.printf(Locale.ROOT, "trials: %d done, %d failed%n", done, results.size() - done);
            SweepSummary.best(results).ifPresent(b -> out.printf(Locale.ROOT, "best: %s %s=%.4f (%s)%n", b.trial().id(), b.metric().get(),
                    b.value().get(), b.trial().describe()));
            out.println("summary: " + dir.resolve(SweepSummary.MARKDOWN).toAbsolutePath());
            out.println("curves: " + dir.resolve(SweepSummary.HTML).toAbsolutePath());
            exit = done == 0 ? 1 : 0; // every trial failed: the sweep produced nothing to compare
        }
        out.flush();
        return exit;
    }
}
