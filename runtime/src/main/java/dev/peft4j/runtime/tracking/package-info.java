/**
 * Run listeners built into the host: {@code mlflow} ({@link dev.peft4j.runtime.tracking.MlflowListener}, MLflow's REST API
 * over {@code java.net.http}), and {@link dev.peft4j.runtime.tracking.RunListeners}, which calls the configured listeners
 * so that none of them can fail or stop a run.
 */
package dev.peft4j.runtime.tracking;
