/**
 * Training: the task model (backbone + head under HF names), AdamW written over the trainable
 * parameters, learning-rate schedules, the training loop with gradient accumulation, clipping,
 * evaluation, early stopping and exact resume from atomic checkpoints, and the run's outputs
 * ({@code metrics.jsonl}, {@code eval.json}, {@code report.html}).
 */
package dev.peft4j.runtime.train;
