package dev.peft4j.cli;

import com.google.gson.GsonBuilder;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.runtime.train.Evaluation;
import dev.peft4j.runtime.train.Evaluator;
import dev.peft4j.runtime.train.TaskSetup;
import dev.peft4j.runtime.train.TrainConfig;
import dev.peft4j.runtime.train.TrainingRunner;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code peft4j eval RUN_DIR}: the finished run's model on its evaluation split; prints the metrics as JSON. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a finished run (its resolved.conf and trained tensors) on its evaluation data; prints JSON metrics.")
final class EvalCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN_DIR", description = "A run directory written by peft4j train.")
    Path runDirectory;

    @Parameters(index = "1..*", paramLabel = "KEY=VALUE",
            description = "Overrides of the run's resolved.conf, e.g. data.eval.path=test.txt to score another split.")
    List<String> overrides;

    @Option(names = "--plugins", paramLabel = "DIR", description = "A directory of plugin jars.")
    Path plugins;

    @Option(names = "--timing", paramLabel = "N", defaultValue = "0",
            description = "Also time inference: one untimed warm-up pass over the evaluation data, then N timed passes; prints the median examples/s on stderr.")
    int timing;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "Evaluate this PEFT adapter directory (HF PEFT or peft4j) on the run's base, head and data instead of the run's adapter.")
    Path adapter;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Peft4j peft4j = RunCommands.host(plugins); TaskSetup setup = restore(peft4j, runDirectory, true, overrides)) {
            if (adapter != null) {
                CliAdapters.parse(List.of(adapter.toString())).loadOnto(setup);
            }
            if (setup.eval().isEmpty()) {
                throw new Peft4jException(runDirectory + ": the run has no evaluation split (data.eval.path or data.holdout)");
            }
            ValidatedExperiment experiment = validated(peft4j, runDirectory, overrides);
            Evaluation e = Evaluator.evaluate(setup.taskModel(), setup.eval().get(), experiment.settings(TrainConfig.class).evalBatchSize(),
                    setup.padId());
            out.println(new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(e.metrics()));
            if (timing > 0) {
                int batch = experiment.settings(TrainConfig.class).evalBatchSize();
                java.util.List<Double> rates = new java.util.ArrayList<>();
                long cpuNanos = 0;
                com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
                for (int pass = 0; pass < timing; pass++) {
                    long t0 = System.nanoTime();
                    long c0 = os.getProcessCpuTime();
                    Evaluator.evaluate(setup.taskModel(), setup.eval().get(), batch, setup.padId());
                    rates.add(setup.eval().get().size() / ((System.nanoTime() - t0) / 1e9));
                    cpuNanos += os.getProcessCpuTime() - c0;
                }
                java.util.Collections.sort(rates);
                // examples per second of the process's CPU time over all timed passes: on a busy machine, with one PyTorch
                // thread, closer to the model's cost than wall time (which also counts the time other processes held the
                // cores). The process CPU clock can tick coarsely (10 ms on some kernels), so a few tiny passes may read 0.
                String cpu = cpuNanos > 0
                        ? String.format(java.util.Locale.ROOT, "%.1f examples per CPU-second",
                                (double) timing * setup.eval().get().size() / (cpuNanos / 1e9))
                        : "CPU time below the clock's resolution (use more passes or more examples)";
                spec.commandLine().getErr().printf(java.util.Locale.ROOT, "inference: %.1f examples/s (median of %d passes over %d examples, batch %d; all: %s);"
                        + " %s%n", rates.get(rates.size() / 2), timing, setup.eval().get().size(), batch,
                        rates.stream().map(r -> String.format(java.util.Locale.ROOT, "%.1f", r)).toList(), cpu);
                spec.commandLine().getErr().flush();
            }
        }
        out.flush();
        return 0;
    }

    static ValidatedExperiment validated(Peft4j peft4j, Path runDirectory) {
        return validated(peft4j, runDirectory, null);
    }

    static ValidatedExperiment validated(Peft4j peft4j, Path runDirectory, List<String> overrides) {
        Path resolved = runDirectory.resolve("resolved.conf");
        if (!Files.isRegularFile(resolved)) {
            throw new Peft4jException(runDirectory + " is not a run directory: resolved.conf is missing");
        }
        // a merged model's run directory (peft4j merge) reads its model from the directory above it, wherever that was moved
        List<String> all = new java.util.ArrayList<>();
        dev.peft4j.runtime.merge.Merger.sourceOverride(runDirectory).ifPresent(all::add);
        if (overrides != null) {
            all.addAll(overrides);
        }
        return peft4j.experiment(resolved, RunCommands.overrides(all)).validate();
    }

    static TaskSetup restore(Peft4j peft4j, Path runDirectory, boolean readEval) {
        return restore(peft4j, runDirectory, readEval, null);
    }

    static TaskSetup restore(Peft4j peft4j, Path runDirectory, boolean readEval, List<String> overrides) {
        ValidatedExperiment experiment = validated(peft4j, runDirectory, overrides);
        var injector = peft4j.injector();
        return TrainingRunner.restore(experiment, injector.getInstance(ModelLoader.class), injector.getInstance(PluginContexts.class),
                injector.getInstance(TensorFiles.class), runDirectory, readEval);
    }
}
