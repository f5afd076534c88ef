package dev.peft4j.lora;

import dev.peft4j.api.nn.Module;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Parameter counts as {@code peft4j inspect} and run summaries print them. */
public final class LoraSummary {
    private LoraSummary() {}

    /** {@code trainable: 73728 / total: 22786176 (0.3236%)} (PEFT's {@code print_trainable_parameters}, our wording). */
    public static String line(long trainable, long total) {
        double percent = total == 0 ? 0 : 100.0 * trainable / total;
        return String.format(Locale.ROOT, "trainable: %d / total: %d (%.4f%%)", trainable, total, percent);
    }

    public static String line(Module root) {
        return line(root.trainableParameterCount(), root.parameterCount());
    }

    /** The adapted tree ({@link Module#describe()}) followed by the count line. */
    public static List<String> describe(Module root) {
        List<String> lines = new ArrayList<>(root.describe());
        lines.add(line(root));
        return lines;
    }
}
