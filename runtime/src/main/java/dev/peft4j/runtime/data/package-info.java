/**
 * Datasets: sources (files, files inside Maven artifacts), the built-in readers (TSV, CSV, JSONL,
 * CoNLL, WordNet) registered as the {@code peft4j-data} plugin, label vocabularies, tokenising once
 * into a cache, and deterministic length-bucketed batching with dynamic padding.
 */
package dev.peft4j.runtime.data;
