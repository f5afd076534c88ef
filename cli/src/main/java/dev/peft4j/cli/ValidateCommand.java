package dev.peft4j.cli;

import dev.peft4j.api.config.ConfigProblem;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.plugin.PluginLoadException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code peft4j validate exp.conf [key=value...] [--plugins DIR]}: checks an experiment without
 * loading or running anything. Exit 0 and "valid" when it is; exit 2 with every problem (file:line,
 * key, what is wrong) on stderr when it is not; exit 1 when a plugin cannot be loaded.
 */
@Command(name = "validate", mixinStandardHelpOptions = true, description = "Check an experiment config (and key=value overrides) without running it.")
public final class ValidateCommand implements Callable<Integer> {
    /** The exit code of an invalid config. */
    public static final int INVALID = 2;

    @Parameters(index = "0", paramLabel = "EXPERIMENT", description = "The experiment file (HOCON).")
    Path file;

    @Parameters(index = "1..*", paramLabel = "KEY=VALUE", description = "Overrides, e.g. train.epochs=3 method.r=16.")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--plugins", paramLabel = "DIR", description = "Directory of third-party plugin jars (wins over plugins.dir).")
    Path pluginDir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (Peft4j peft4j = Peft4j.builder().pluginDir(pluginDir).build()) {
            ValidatedExperiment v = peft4j.experiment(file, overrides.toArray(String[]::new)).validate();
            out.println("valid: " + file + " (method " + v.method().name() + v.head().map(h -> ", head " + h.name()).orElse("")
                    + (v.datasets().isEmpty() ? "" : ", data " + String.join(", ", v.datasets().keySet())) + "; run directory "
                    + v.run().directory() + ")");
            out.flush();
            return 0;
        } catch (InvalidConfigException e) {
            err.println(file + ": " + e.problems().size() + " configuration problem" + (e.problems().size() == 1 ? "" : "s") + ":");
            for (ConfigProblem p : e.problems()) {
                err.println("  " + p);
            }
            err.flush();
            return INVALID;
        } catch (PluginLoadException e) {
            e.problems().forEach(p -> err.println("error: " + p));
            err.flush();
            return 1;
        }
    }
}
