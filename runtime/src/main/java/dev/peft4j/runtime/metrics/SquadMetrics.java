package dev.peft4j.runtime.metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * SQuAD exact match and F1, as the official evaluation script (v2.0, which agrees with v1.1 on answerable questions)
 * defines them: answers are normalised (lower case, ASCII punctuation removed, the articles a/an/the removed, whitespace
 * collapsed); exact match is equality of the normalised strings; F1 is over the bag of normalised tokens, and 1 or 0
 * (equality) when either side has no token; a question scores the maximum over its gold answers, and an unanswerable one
 * has the single gold answer "". Totals are percentages, as the script prints them.
 */
public final class SquadMetrics {
    private static final String PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"; // Python's string.punctuation
    private static final Pattern ARTICLES = Pattern.compile("\\b(a|an|the)\\b", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);

    private SquadMetrics() {}

    /** The script's {@code normalize_answer}. */
    public static String normalize(String s) {
        String lower = s.toLowerCase(Locale.ROOT);
        StringBuilder noPunctuation = new StringBuilder(lower.length());
        for (int i = 0; i < lower.length(); i++) {
            char c = lower.charAt(i);
            if (PUNCTUATION.indexOf(c) < 0) {
                noPunctuation.append(c);
            }
        }
        String noArticles = ARTICLES.matcher(noPunctuation).replaceAll(" ");
        return String.join(" ", tokens(noArticles));
    }

    private static List<String> tokens(String s) {
        String stripped = WHITESPACE.matcher(s).replaceAll(" ").strip();
        return stripped.isEmpty() ? List.of() : List.of(WHITESPACE.split(stripped));
    }

    /** The script's {@code compute_exact}: 1 when the normalised answers are equal. */
    public static int exact(String gold, String predicted) {
        return normalize(gold).equals(normalize(predicted)) ? 1 : 0;
    }

    /** The script's {@code compute_f1}. */
    public static double f1(String gold, String predicted) {
        List<String> g = tokens(normalize(gold));
        List<String> p = tokens(normalize(predicted));
        if (g.isEmpty() || p.isEmpty()) {
            return g.equals(p) ? 1 : 0;
        }
        Map<String, Integer> counts = new HashMap<>();
        g.forEach(t -> counts.merge(t, 1, Integer::sum));
        int same = 0;
        for (String t : p) {
            Integer c = counts.get(t);
            if (c != null && c > 0) {
                same++;
                counts.put(t, c - 1);
            }
        }
        if (same == 0) {
            return 0;
        }
        double precision = (double) same / p.size();
        double recall = (double) same / g.size();
        return 2 * precision * recall / (precision + recall);
    }

    /** Exact match and F1 of one question: the maximum over its gold answers ({@code [""]} when there are none). */
    public static double[] score(List<String> golds, String predicted) {
        List<String> g = golds.isEmpty() ? List.of("") : golds;
        double em = 0;
        double f1 = 0;
        for (String gold : g) {
            em = Math.max(em, exact(gold, predicted));
            f1 = Math.max(f1, f1(gold, predicted));
        }
        return new double[] {em, f1};
    }

    /** {@code exact_match} and {@code f1} over all questions, in percent. */
    public static Map<String, Double> totals(List<List<String>> golds, List<String> predictions) {
        if (golds.size() != predictions.size() || golds.isEmpty()) {
            throw new IllegalArgumentException(golds.size() + " gold answer lists but " + predictions.size() + " predictions");
        }
        double em = 0;
        double f1 = 0;
        for (int i = 0; i < golds.size(); i++) {
            double[] s = score(golds.get(i), predictions.get(i));
            em += s[0];
            f1 += s[1];
        }
        return Map.of("exact_match", 100 * em / golds.size(), "f1", 100 * f1 / golds.size());
    }
}
