/**
 * The peft4j host for library users: {@link dev.peft4j.runtime.Peft4j} (plugins, experiments,
 * direct adaptation), {@link dev.peft4j.runtime.Experiment}, the {@link dev.peft4j.runtime.ExperimentRunner}
 * extension point and the Guice wiring in {@link dev.peft4j.runtime.HostModule}.
 */
package dev.peft4j.runtime;
