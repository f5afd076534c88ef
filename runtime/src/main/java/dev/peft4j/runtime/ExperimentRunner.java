package dev.peft4j.runtime;

import dev.peft4j.runtime.config.ValidatedExperiment;
import java.nio.file.Path;

/**
 * Runs a validated experiment. The host has already created {@code runDirectory} and written
 * {@code resolved.conf} into it. Implementations get host services (registry, model loader,
 * plugin contexts, tensor files) by constructor injection; bound in {@link HostModule}.
 */
public interface ExperimentRunner {
    RunResult run(ValidatedExperiment experiment, Path runDirectory);
}
