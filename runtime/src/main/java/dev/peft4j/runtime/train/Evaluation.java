package dev.peft4j.runtime.train;

import java.util.List;
import java.util.Map;

/**
 * Predictions on a dataset, in dataset order, and (for labelled data) the metrics. A prediction is an
 * {@code Integer} class id (classification), a {@code Double} (regression), a {@code List<Integer>} of
 * label ids (multi-label), a {@code List<String>} of word tags (token classification) or a {@link SpanDecoder.Answer} per
 * question (extractive QA).
 *
 * @param scores per example: class probabilities (classification), sigmoid per label (multi-label), else null (QA: empty)
 */
public record Evaluation(Map<String, Double> metrics, List<Object> predictions, List<float[]> scores) {}
