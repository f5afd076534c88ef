package dev.peft4j.models.generation;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/** Temperature, top-k and top-p (nucleus) sampling over one row of logits, in Java (one row is small). */
final class Sampling {
    private Sampling() {}

    static int sample(float[] logits, GenerationConfig config, SplittableRandom random) {
        int[] order = IntStream.range(0, logits.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -logits[i]).thenComparingInt(i -> i))
                .mapToInt(Integer::intValue).toArray();
        int keep = config.topK() > 0 ? Math.min(config.topK(), order.length) : order.length;
        double[] probs = new double[keep];
        double max = logits[order[0]] / (double) config.temperature();
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            probs[i] = Math.exp(logits[order[i]] / (double) config.temperature() - max);
            sum += probs[i];
        }
        // Nucleus: the smallest prefix (by descending probability) whose mass reaches top_p; at least one token.
        double cumulative = 0;
        int nucleus = keep;
        for (int i = 0; i < keep; i++) {
            cumulative += probs[i] / sum;
            if (cumulative >= config.topP()) {
                nucleus = i + 1;
                break;
            }
        }
        double total = Arrays.stream(probs, 0, nucleus).sum();
        double u = random.nextDouble() * total;
        for (int i = 0; i < nucleus; i++) {
            u -= probs[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[nucleus - 1];
    }
}
