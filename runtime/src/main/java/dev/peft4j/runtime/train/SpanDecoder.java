package dev.peft4j.runtime.train;

import dev.peft4j.api.spi.TaskHead.SpanOptions;
import dev.peft4j.runtime.data.EncodedExample.SpanFeature;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * From start and end logits of a question's windows to its answer, as transformers' {@code postprocess_qa_predictions}
 * does: in each window the {@code n-best} start and end positions are paired; pairs outside the context, ending before
 * they start, or longer than {@code max-answer-length} tokens are dropped; the best {@code start + end} logit sum over all
 * windows wins, and its text is cut from the context through the tokens' character offsets. With {@code allow-no-answer},
 * "no answer" (the first token's start + end, its least value over the windows) wins when it scores higher.
 */
public final class SpanDecoder {
    /** A predicted answer: its text and character span in the context ({@code -1, -1} and "" for no answer). */
    public record Answer(String text, int start, int end, double score) {
        public static Answer none(double score) {
            return new Answer("", -1, -1, score);
        }
    }

    private SpanDecoder() {}

    /**
     * @param context the question's context
     * @param windows its windows, each with its per-token start and end logits ({@code startLogits[w][t]})
     */
    public static Answer decode(String context, List<SpanFeature> windows, List<float[]> startLogits, List<float[]> endLogits, SpanOptions options) {
        Answer best = null;
        double nullScore = Double.POSITIVE_INFINITY;
        for (int w = 0; w < windows.size(); w++) {
            SpanFeature f = windows.get(w);
            float[] s = startLogits.get(w);
            float[] e = endLogits.get(w);
            nullScore = Math.min(nullScore, s[0] + e[0]);
            for (int i : top(s, options.nBest())) {
                for (int j : top(e, options.nBest())) {
                    if (f.charStarts()[i] < 0 || f.charStarts()[j] < 0 || j < i || j - i + 1 > options.maxAnswerLength()) {
                        continue;
                    }
                    double score = s[i] + e[j];
                    if (best == null || score > best.score()) {
                        int from = f.charStarts()[i];
                        int to = f.charEnds()[j];
                        best = new Answer(context.substring(from, to), from, to, score);
                    }
                }
            }
        }
        if (best == null || (options.allowNoAnswer() && nullScore > best.score())) {
            return Answer.none(nullScore);
        }
        return best;
    }

    /** Indices of the {@code n} largest values, largest first (ties: lower index first). */
    static int[] top(float[] v, int n) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < v.length; i++) {
            idx[i] = i;
        }
        Arrays.sort(idx, (a, b) -> v[b] != v[a] ? Float.compare(v[b], v[a]) : Integer.compare(a, b));
        int k = Math.min(n, v.length);
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    /** Groups window positions by their question (in dataset order). */
    static List<List<Integer>> byExample(List<SpanFeature> features, int examples) {
        List<List<Integer>> out = new ArrayList<>(examples);
        for (int i = 0; i < examples; i++) {
            out.add(new ArrayList<>());
        }
        for (int i = 0; i < features.size(); i++) {
            out.get(features.get(i).example()).add(i);
        }
        return out;
    }
}
