package dev.peft4j.cli;

import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.models.Models;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code peft4j inspect MODEL}: the module tree with shapes and parameter counts, then {@code parameters: N}. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Print the model's module tree (types, parameter shapes and counts); the last line is 'parameters: N'.")
final class InspectCommand implements Callable<Integer> {
    @Mixin
    ModelOptions options;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Path directory = options.directory();
        try (TransformerModel model = Models.load(directory, options.device())) {
            out.println("model: " + options.model + (directory.toString().equals(options.model) ? "" : " (" + directory + ")"));
            out.println("model_type: " + model.config().modelType());
            for (String line : model.module().describe()) {
                out.println(line);
            }
            out.println("parameters: " + model.module().parameterCount());
        }
        out.flush();
        return 0;
    }
}
