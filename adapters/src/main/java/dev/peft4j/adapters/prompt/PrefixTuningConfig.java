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
 * @param init {@code random} (N(0, 1), torch's {@code nn.Embedding}) or {@code text}: each layer's keys and values
 *     of {@code initText} (tokenised with special tokens, repeated to P tokens) run through the frozen model, Li and
 *     Liang's initialisation from real activations (PEFT has no text init for prefixes); not with the projection
 * @param initText the text for {@code init = text}
 */
public record PrefixTuningConfig(int numVirtualTokens, boolean prefixProjection, int encoderHiddenSize, String init, String initText) {
    public PrefixTuningConfig(int numVirtualTokens, boolean prefixProjection, int encoderHiddenSize) {
        this(numVirtualTokens, prefixProjection, encoderHiddenSize, "random", "");
    }

    public static final String NUM_VIRTUAL_TOKENS = "num-virtual-tokens";

    public PrefixTuningConfig {
        if (numVirtualTokens <= 0) {
            throw new IllegalArgumentException(NUM_VIRTUAL_TOKENS + " must be > 0, got " + numVirtualTokens);
        }
        java.util.Objects.requireNonNull(init, "init is null");
        java.util.Objects.requireNonNull(initText, "initText is null");
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
        String init = r.oneOf("init", PromptTuningConfig.INITS);
        String text = r.string("init-text");
        if ("text".equals(init) && text.isBlank()) {
            r.problem("init-text", "is empty, but init = text needs the text whose keys and values start the prefix");
        }
        if ("text".equals(init) && projection) {
            r.problem("init", "is text, but prefix-projection = true: the projection's output cannot be set to a text's keys and values");
        }
        if ("random".equals(init) && !text.isEmpty()) {
            r.problem("init-text", "is set, but init = random; set init = text to use it");
        }
        r.finish();
        return new PrefixTuningConfig(tokens, projection, hidden, init, text);
    }
}
