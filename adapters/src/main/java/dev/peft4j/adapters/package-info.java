/**
 * Built-in adapter methods that choose which existing parameters train, without adding modules:
 * full fine-tuning with freezing ({@link dev.peft4j.adapters.FullFineTuningMethod}, {@code full}) and
 * BitFit ({@link dev.peft4j.adapters.BitFitMethod}, {@code bitfit}). Both save every trainable tensor
 * ({@link dev.peft4j.adapters.TrainableSubset}) and cannot be merged: the trained weights are the model's own.
 */
package dev.peft4j.adapters;
