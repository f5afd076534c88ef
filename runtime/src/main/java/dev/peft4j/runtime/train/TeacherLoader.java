package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.config.ExperimentConfig;
import dev.peft4j.runtime.config.ExperimentValidator;
import dev.peft4j.runtime.config.ModelSettings;
import dev.peft4j.runtime.config.TeacherSettings;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.plugin.PluginContexts;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Loads the experiment's {@code teacher}: a finished run is rebuilt exactly as {@code peft4j eval} rebuilds
 * it (its {@code resolved.conf} validated by the same host, base model, method and head, then its trained
 * tensors and {@code labels.json}); a model source is loaded as a bare backbone with its tokenizer.
 */
public final class TeacherLoader {
    private final ExperimentValidator validator;
    private final ModelLoader modelLoader;
    private final PluginContexts contexts;
    private final TensorFiles files;

    @Inject
    public TeacherLoader(ExperimentValidator validator, ModelLoader modelLoader, PluginContexts contexts, TensorFiles files) {
        this.validator = requireNonNull(validator, "validator is null");
        this.modelLoader = requireNonNull(modelLoader, "modelLoader is null");
        this.contexts = requireNonNull(contexts, "contexts is null");
        this.files = requireNonNull(files, "files is null");
    }

    /** The student experiment's teacher, or empty when its {@code teacher} section names none. */
    public Optional<Teacher> load(ValidatedExperiment student) {
        TeacherSettings settings = student.settings(TeacherSettings.class);
        if (settings.run().isPresent()) {
            Path run = settings.run().get();
            if (!settings.runProblems().isEmpty()) {
                throw new Peft4jException(String.join("; ", settings.runProblems()));
            }
            ValidatedExperiment experiment;
            try {
                experiment = validator.validate(ExperimentConfig.load(run.resolve("resolved.conf"), List.of()));
            } catch (InvalidConfigException e) {
                throw new Peft4jException(settings.describe() + ": its resolved.conf no longer validates: " + e.getMessage(), e);
            }
            TaskSetup setup = TrainingRunner.restore(experiment, modelLoader, contexts, files, run, false);
            List<String> labels = setup.vocabulary() == null ? null : setup.vocabulary().labels();
            return Optional.of(new Teacher(setup.backbone(), setup.taskModel().head(), settings.describe(), labels, setup.tokenizer(), setup));
        }
        if (settings.source().isPresent()) {
            ModelSettings model = student.model();
            ModelLoader.LoadedModel loaded = modelLoader.load(new ModelSettings(settings.source().get(), model.device(), model.maxLength()));
            return Optional.of(new Teacher(loaded.model(), null, settings.describe(), null, loaded.tokenizer().orElse(null), loaded));
        }
        return Optional.empty();
    }
}
