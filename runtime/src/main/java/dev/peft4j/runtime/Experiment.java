package dev.peft4j.runtime;

import static java.util.Objects.requireNonNull;

import com.google.inject.Injector;
import dev.peft4j.runtime.config.ExperimentConfig;
import dev.peft4j.runtime.config.ExperimentValidator;
import dev.peft4j.runtime.config.ValidatedExperiment;
import java.nio.file.Path;

/**
 * An experiment loaded by {@link Peft4j#experiment}: {@link #validate()} checks everything and runs
 * nothing; {@link #run()} validates, refuses to resume a checkpointed run with changed settings, creates the
 * run directory, writes {@code resolved.conf} and hands over to the bound {@link ExperimentRunner}.
 */
public final class Experiment {
    private final ExperimentConfig config;
    private final Injector injector;

    Experiment(ExperimentConfig config, Injector injector) {
        this.config = requireNonNull(config, "config is null");
        this.injector = requireNonNull(injector, "injector is null");
    }

    public ExperimentConfig config() {
        return config;
    }

    /** The host this experiment runs in (its plugin directory's registry and bindings). */
    public Injector injector() {
        return injector;
    }

    /** @throws dev.peft4j.api.config.InvalidConfigException with every problem, each with file and line */
    public ValidatedExperiment validate() {
        return injector.getInstance(ExperimentValidator.class).validate(config);
    }

    public RunResult run() {
        ValidatedExperiment validated = validate();
        Path runDirectory = validated.run().directory();
        ResumeCheck.check(runDirectory, validated.config());
        validated.writeResolved(runDirectory);
        return injector.getInstance(ExperimentRunner.class).run(validated, runDirectory);
    }
}
