package dev.peft4j.runtime;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.plugin.PluginContexts;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A runner that builds the trainable model and stops: loads the model, attaches the head, applies
 * the method, makes the head's modules trainable (PEFT's {@code modules_to_save}), then reports and
 * writes ({@code summary.txt}) what would be trained. The default until a training runner is bound;
 * the trainer's runner does the same steps first.
 */
public final class AdaptOnlyRunner implements ExperimentRunner {
    private static final Logger LOG = LoggerFactory.getLogger(AdaptOnlyRunner.class);

    private final ModelLoader modelLoader;
    private final PluginContexts contexts;

    @Inject
    public AdaptOnlyRunner(ModelLoader modelLoader, PluginContexts contexts) {
        this.modelLoader = requireNonNull(modelLoader, "modelLoader is null");
        this.contexts = requireNonNull(contexts, "contexts is null");
    }

    /** Builds the trainable model of {@code experiment} around {@code backbone}: head (if any), then the method. */
    public static TrainableModelAssembly.TrainableModel prepare(ValidatedExperiment experiment, TransformerModel backbone, PluginContext context,
            PluginContexts contexts) {
        TrainableModelAssembly assembly = TrainableModelAssembly.forModel(backbone, context, contexts).method(experiment.method());
        experiment.head().ifPresent(assembly::head);
        return assembly.assemble();
    }

    @Override
    public RunResult run(ValidatedExperiment experiment, Path runDirectory) {
        long seed = experiment.config().getLong("train.seed");
        try (ModelLoader.LoadedModel loaded = modelLoader.load(experiment.model())) {
            TransformerModel backbone = loaded.model();
            PluginContext context = contexts.create(backbone, loaded.tokenizer().orElse(null), backbone.manager().getDevice(), runDirectory, seed);
            TrainableModelAssembly.TrainableModel prepared = prepare(experiment, backbone, context, contexts);
            Module root = prepared.root();
            long total = root.parameterCount();
            long trainable = root.trainableParameterCount();
            List<String> lines = new ArrayList<>();
            lines.add("method: " + experiment.method().name() + " (" + experiment.method().registration().plugin().describe() + ")");
            experiment.head().ifPresent(h -> lines.add("head: " + h.name() + " (" + h.registration().plugin().describe() + ")"));
            lines.add("targeted modules: " + prepared.adaptation().targetedModules().size());
            lines.add(String.format(java.util.Locale.ROOT, "trainable params: %,d || all params: %,d || trainable%%: %.4f", trainable, total,
                    100.0 * trainable / total));
            root.trainableParameters().forEach((name, p) -> lines.add("  " + name + " " + p.shape()));
            lines.forEach(LOG::info);
            Files.writeString(runDirectory.resolve("summary.txt"), String.join("\n", lines) + "\n");
            Map<String, Double> metrics = new LinkedHashMap<>();
            metrics.put("trainable_parameters", (double) trainable);
            metrics.put("total_parameters", (double) total);
            return new RunResult(runDirectory, metrics);
        } catch (IOException e) {
            throw new Peft4jException("cannot write summary.txt into " + runDirectory + ": " + e.getMessage(), e);
        }
    }
}
