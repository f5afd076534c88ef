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

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (Peft4j peft4j = RunCommands.host(plugins); TaskSetup setup = restore(peft4j, runDirectory, true, overrides)) {
            if (setup.eval().isEmpty()) {
                throw new Peft4jException(runDirectory + ": the run has no evaluation split (data.eval.path or data.holdout)");
            }
            ValidatedExperiment experiment = validated(peft4j, runDirectory, overrides);
            Evaluation e = Evaluator.evaluate(setup.taskModel(), setup.eval().get(), experiment.settings(TrainConfig.class).evalBatchSize(),
                    setup.padId());
            out.println(new GsonBuilder().serializeSpecialFloatingPointValues().create().toJson(e.metrics()));
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
