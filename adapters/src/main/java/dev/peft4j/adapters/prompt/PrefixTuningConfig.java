package dev.peft4j.adapters.prompt;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;

/**
 * Settings of {@code method = prefix-tuning} ({@code peft4j.methods.prefix-tuning}), PEFT's
 * {@code PrefixTuningConfig}.
 *
 * @param numVirtualTokens P, the prefix length ({@code num_virtual_tokens})
 * @param prefixProjection whether the prefix is reparameterised through an MLP ({@code prefix_projection})
 * @param encoderHiddenSize the MLP's hidden size; 0 means the model's key/value width, PEFT's default
 */
public record PrefixTuningConfig(int numVirtualTokens, boolean prefixProjection, int encoderHiddenSize) {
    public static final String NUM_VIRTUAL_TOKENS = "num-virtual-tokens";

    public PrefixTuningConfig {
        if (numVirtualTokens <= 0) {
            throw new IllegalArgumentException(NUM_VIRTUAL_TOKENS + " must be > 0, got " + numVirtualTokens);
        }
        if (encoderHiddenSize < 0) {
            throw new IllegalArgumentException("encoder-hidden-size must be >= 0, got " + encoderHiddenSize);
        }
    }

    /** Parses a {@code peft4j.methods.prefix-tuning} section (defaults merged in); all problems together. */
    public static PrefixTuningConfig from(Config section) {
        ConfigReader r = new ConfigReader(requireNonNull(section, "section is null"), "").allow("name");
        int tokens = r.intValue(NUM_VIRTUAL_TOKENS, 1, 100_000);
        boolean projection = r.bool("prefix-projection");
        int hidden = 0;
        if (r.has("encoder-hidden-size") && !section.getIsNull("encoder-hidden-size")) {
            hidden = r.intValue("encoder-hidden-size", 1, 1 << 20);
            if (!projection) {
                r.problem("encoder-hidden-size", "is set, but prefix-projection = false: the hidden size belongs to the projection MLP");
            }
        }
        r.finish();
        return new PrefixTuningConfig(tokens, projection, hidden);
    }
}
