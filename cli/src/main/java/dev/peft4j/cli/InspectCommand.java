package dev.peft4j.cli;

import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.models.LayerSubset;
import dev.peft4j.models.Models;
import dev.peft4j.runtime.Peft4j;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code peft4j inspect MODEL [--method NAME [key=value...]]}: the module tree with shapes and parameter
 * counts, then {@code parameters: N}. With {@code --method}, the tree after the method adapted it, ending
 * with {@code trainable: N / total: M (P%)}.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print the model's module tree (types, parameter shapes and counts); the last line is 'parameters: N', "
                + "or with --method the adapted tree ending with 'trainable: N / total: M (P%%)'.")
final class InspectCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @Option(names = "--method", paramLabel = "NAME", description = "Apply this registered adapter method first (e.g. lora).")
    String method;

    @Option(names = "--plugins", paramLabel = "DIR", description = "Directory of third-party plugin jars.")
    Path plugins;

    @Option(names = "--keep-layers", paramLabel = "I,J,...", split = ",",
            description = "Build the model from only these layers of the checkpoint, renumbered from 0 (as model.keep-layers).")
    List<Integer> keepLayers = new ArrayList<>();

    @Parameters(index = "1..*", paramLabel = "KEY=VALUE", description = "Method settings over its defaults (e.g. r=8 target-modules=[query,value]).")
    List<String> settings = new ArrayList<>();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        if (method == null && !settings.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "settings " + settings + " need --method NAME");
        }
        Path directory = options.directory();
        try (TransformerModel model = keepLayers.isEmpty() ? Models.load(directory, options.device())
                : LayerSubset.load(directory, keepLayers, options.device(), "--keep-layers")) {
            out.println("model: " + options.model + (directory.toString().equals(options.model) ? "" : " (" + directory + ")"));
            out.println("model_type: " + model.config().modelType());
            if (!keepLayers.isEmpty()) {
                out.println("kept layers: " + keepLayers + ", renumbered 0.." + (keepLayers.size() - 1));
            }
            Module root = model.module();
            if (method != null) {
                Peft4j.Builder builder = Peft4j.builder();
                if (plugins != null) {
                    builder.pluginDir(plugins);
                }
                try (Peft4j peft4j = builder.build()) {
                    Adaptation adaptation = peft4j.adapt(model, method, parseSettings(settings));
                    out.println("method: " + method + ", adapted " + adaptation.targetedModules().size() + " modules");
                }
            }
            for (String line : root.describe()) {
                out.println(line);
            }
            out.println("parameters: " + root.parameterCount());
            if (method != null) {
                out.println(trainableLine(root.trainableParameterCount(), root.parameterCount()));
            }
        }
        out.flush();
        return 0;
    }

    /** {@code trainable: N / total: M (P%)}, the form HF PEFT's print_trainable_parameters uses. */
    static String trainableLine(long trainable, long total) {
        return String.format(Locale.ROOT, "trainable: %d / total: %d (%.4f%%)", trainable, total, total == 0 ? 0.0 : 100.0 * trainable / total);
    }

    /** key=value words as HOCON, so numbers, booleans and lists keep their types. */
    static Map<String, Object> parseSettings(List<String> settings) {
        StringBuilder hocon = new StringBuilder();
        for (String setting : settings) {
            if (!setting.contains("=")) {
                throw new Peft4jException("method setting '" + setting + "' is not key=value");
            }
            hocon.append(setting).append('\n');
        }
        return ConfigFactory.parseString(hocon.toString(), ConfigParseOptions.defaults().setOriginDescription("command line"))
                .root().unwrapped();
    }
}
