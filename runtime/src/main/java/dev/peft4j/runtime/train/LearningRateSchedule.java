package dev.peft4j.runtime.train;

import java.util.List;

/**
 * The learning rate for optimizer update {@code u} (0-based) of {@code total}, as HF's
 * {@code get_*_schedule_with_warmup}: linear warm-up from 0 over {@code warmup} updates, then constant,
 * linear decay to 0, or a half cosine to 0.
 */
public record LearningRateSchedule(String kind, double peak, long warmup, long total) {
    public static final List<String> KINDS = List.of("constant", "linear", "cosine");

    public LearningRateSchedule {
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("schedule '" + kind + "', expected one of " + KINDS);
        }
    }

    public double at(long u) {
        if (u < warmup) {
            return peak * (double) u / Math.max(1, warmup);
        }
        double progress = (double) (u - warmup) / Math.max(1, total - warmup);
        return switch (kind) {
            case "linear" -> peak * Math.max(0.0, 1.0 - progress);
            case "cosine" -> peak * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * Math.min(1.0, progress))));
            default -> peak;
        };
    }
}
