package dev.peft4j.adapters.bottleneck;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigReader;
import java.util.List;

/**
 * Settings of {@code method = bottleneck} ({@code peft4j.methods.bottleneck}), AdapterHub's {@code BnConfig} subset.
 *
 * @param architecture {@code houlsby} (AdapterHub {@code DoubleSeqBnConfig}) or {@code pfeiffer} ({@code SeqBnConfig})
 * @param reductionFactor hidden size / bottleneck size (null when {@code bottleneckSize} is given)
 * @param bottleneckSize the bottleneck width (null when {@code reductionFactor} is given)
 * @param nonLinearity {@code relu}, {@code swish} (= silu), {@code gelu} or {@code tanh}
 * @param residualBeforeLn AdapterHub's {@code residual_before_ln}: the adapter's residual is the sub-layer output
 *     before the original LayerNorm (true), or the adapter's own input (false; for Pfeiffer that is after the LayerNorm,
 *     so a fresh Pfeiffer adapter is then not the identity, as in AdapterHub)
 * @param initStd standard deviation of the down-projection's initial weights (the up-projection starts at zero)
 */
public record BottleneckConfig(Architecture architecture, Integer reductionFactor, Integer bottleneckSize, String nonLinearity,
        boolean residualBeforeLn, double initStd) {
    /** Where adapters go, as AdapterHub defines the two classic configs. */
    public enum Architecture {
        /** Houlsby et al. 2019: after the attention output and after the FFN; no LayerNorm before the adapter; swish. */
        HOULSBY("swish"),
        /** Pfeiffer et al. 2021: after the FFN only, its input through the original LayerNorm first; relu. */
        PFEIFFER("relu");

        final String defaultNonLinearity;

        Architecture(String defaultNonLinearity) {
            this.defaultNonLinearity = defaultNonLinearity;
        }
    }

    static final List<String> NON_LINEARITIES = List.of("relu", "swish", "silu", "gelu", "tanh");

    public BottleneckConfig {
        requireNonNull(architecture, "architecture is null");
        requireNonNull(nonLinearity, "nonLinearity is null");
        if ((reductionFactor == null) == (bottleneckSize == null)) {
            throw new IllegalArgumentException("exactly one of reductionFactor and bottleneckSize must be set");
        }
    }

    public static BottleneckConfig from(Config section) {
        ConfigReader reader = new ConfigReader(requireNonNull(section, "section is null"), "").allow("name");
        String arch = reader.oneOf("architecture", List.of("houlsby", "pfeiffer"));
        Architecture architecture = arch.equals("houlsby") ? Architecture.HOULSBY : Architecture.PFEIFFER; // others: a problem already
        Integer factor = null;
        Integer size = null;
        boolean hasFactor = reader.has("reduction-factor") && !section.getIsNull("reduction-factor");
        boolean hasSize = reader.has("bottleneck-size") && !section.getIsNull("bottleneck-size");
        if (hasFactor && hasSize) {
            reader.problem("bottleneck-size", "is set together with reduction-factor; set one of them (the other = null)");
        } else if (hasSize) {
            size = reader.intValue("bottleneck-size", 1, Integer.MAX_VALUE);
        } else if (hasFactor) {
            factor = reader.intValue("reduction-factor", 1, Integer.MAX_VALUE);
        } else {
            reader.problem("reduction-factor", "and bottleneck-size are both null; set one of them");
        }
        String nonLinearity = null;
        if (reader.has("non-linearity") && !section.getIsNull("non-linearity")) {
            nonLinearity = reader.oneOf("non-linearity", NON_LINEARITIES);
        }
        boolean residualBeforeLn = reader.bool("residual-before-ln");
        double initStd = reader.doubleValue("init-std", 0, true, 1, true);
        reader.finish();
        if (factor == null && size == null) {
            factor = 16; // unreachable after finish(); keeps the record valid
        }
        return new BottleneckConfig(architecture, factor, size, nonLinearity == null ? architecture.defaultNonLinearity : nonLinearity,
                residualBeforeLn, initStd);
    }

    /** The bottleneck width for a hidden size; a reduction factor that does not divide it is an error naming the key. */
    int bottleneckWidth(long hiddenSize) {
        if (bottleneckSize != null) {
            return bottleneckSize;
        }
        if (hiddenSize % reductionFactor != 0) {
            throw new Peft4jException("method bottleneck: reduction-factor " + reductionFactor + " does not divide the hidden size " + hiddenSize
                    + " (divisors near it: " + divisorsNear(hiddenSize, reductionFactor) + "); or set bottleneck-size instead");
        }
        return Math.toIntExact(hiddenSize / reductionFactor);
    }

    private static List<Long> divisorsNear(long n, int factor) {
        java.util.List<Long> out = new java.util.ArrayList<>();
        for (long d = Math.max(1, factor - 8); d <= factor + 8 && out.size() < 4; d++) {
            if (n % d == 0) {
                out.add(d);
            }
        }
        return out;
    }
}
