/**
 * Evaluation metrics on plain Java arrays (no tensors): classification (accuracy, F1, Matthews),
 * correlation (Pearson, Spearman), entity-level scores with seqeval semantics, loss and perplexity.
 * Each reproduces the reference Python implementation (scikit-learn, SciPy, seqeval) including its
 * edge cases; the tests hold values computed with those libraries.
 */
package dev.peft4j.runtime.metrics;
