/**
 * Hyper-parameter sweeps: {@link dev.peft4j.runtime.sweep.SweepPlan} lists the trials (grid or seeded random,
 * each a set of {@code key=value} overrides) and checks their keys, {@link dev.peft4j.runtime.sweep.SweepTrialRunner}
 * runs one trial as a normal run directory and records {@code trial.json}, {@link dev.peft4j.runtime.sweep.SweepSummary}
 * writes the summary table and the curve page from trial results, and {@link dev.peft4j.runtime.sweep.Sweep} runs a
 * whole plan on this machine, one trial after another, resumable. A cluster scheduler uses the first three directly.
 */
package dev.peft4j.runtime.sweep;
