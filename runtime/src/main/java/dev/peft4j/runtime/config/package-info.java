/**
 * Experiment configuration: {@link dev.peft4j.runtime.config.ExperimentConfig} parses a HOCON file
 * with {@code key=value} overrides; {@link dev.peft4j.runtime.config.ExperimentValidator} checks it
 * against every {@code reference.conf} and the registered components, collecting all problems with
 * file and line, and yields a {@link dev.peft4j.runtime.config.ValidatedExperiment}. Host sections
 * are read by {@link dev.peft4j.runtime.config.SettingsSection}s. See {@code docs/configuration.md}.
 */
package dev.peft4j.runtime.config;
