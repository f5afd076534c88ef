package dev.peft4j.cli;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.models.Engines;
import dev.peft4j.models.ModelSources;
import dev.peft4j.models.maven.MavenModelSource;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.merge.Merger;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code peft4j merge RUN_DIR|ADAPTER_DIR [--base MODEL] --out DIR}: merge and unload into a plain HF model directory;
 * a run's head goes to {@code DIR/peft4j-run} (see {@link Merger}).
 */
@Command(name = "merge", mixinStandardHelpOptions = true,
        description = "Merge a trained run's (or a PEFT adapter's) weights into its base model and write a plain HF model directory.")
final class MergeCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "RUN_DIR|ADAPTER_DIR",
            description = "A run directory written by peft4j train, or a PEFT adapter directory (adapter_config.json).")
    Path source;

    @Option(names = "--base", paramLabel = "MODEL",
            description = "The base model (HF directory or maven:...); required for an adapter directory, for a run it replaces the run's model.source.")
    String base;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "Where to write the merged model (must not exist).")
    Path out;

    @Option(names = "--plugins", paramLabel = "DIR", description = "A directory of plugin jars.")
    Path plugins;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter w = spec.commandLine().getOut();
        Merger.Result result;
        if (Files.isRegularFile(source.resolve("resolved.conf"))) {
            try (Peft4j peft4j = RunCommands.host(plugins)) {
                result = Merger.mergeRun(peft4j, source, Optional.ofNullable(base), out);
            }
        } else if (Files.isRegularFile(source.resolve("adapter_config.json"))) {
            if (base == null) {
                throw new Peft4jException(source + " is an adapter directory: give the model it was trained on with --base MODEL");
            }
            Path baseDir = ModelSources.resolve(base, MavenModelSource.defaultCacheRoot());
            result = Merger.mergeAdapter(source, baseDir, Engines.device("cpu"), out);
        } else {
            throw new Peft4jException(source + " is neither a run directory (resolved.conf) nor a PEFT adapter directory (adapter_config.json)");
        }
        w.println("merged " + result.method() + " into " + result.directory().toAbsolutePath());
        if (result.headTensors() > 0) {
            w.println("head: " + result.directory().resolve(Merger.RUN_DIRECTORY).toAbsolutePath() + " (" + result.headTensors()
                    + " tensors; peft4j predict/eval take it as a run)");
        }
        w.flush();
        return 0;
    }
}
