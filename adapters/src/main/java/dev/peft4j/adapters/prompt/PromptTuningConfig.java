package dev.peft4j.adapters.prompt;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import java.util.List;

/**
 * Settings of {@code method = prompt-tuning} ({@code peft4j.methods.prompt-tuning}), PEFT's
 * {@code PromptTuningConfig}.
 *
 * @param numVirtualTokens P ({@code num_virtual_tokens})
 * @param init {@code random} (N(0, 1), torch's {@code nn.Embedding}) or {@code text} (the token embeddings of
 *     {@code initText}, repeated to P tokens: PEFT's {@code prompt_tuning_init = TEXT})
 * @param initText the text for {@code init = text}, tokenised with the model's tokenizer (special tokens included, as PEFT)
 */
public record PromptTuningConfig(int numVirtualTokens, String init, String initText) {
    public static final List<String> INITS = List.of("random", "text");

    public PromptTuningConfig {
        if (numVirtualTokens <= 0) {
            throw new IllegalArgumentException("num-virtual-tokens must be > 0, got " + numVirtualTokens);
        }
        requireNonNull(init, "init is null");
        requireNonNull(initText, "initText is null");
    }

    public static PromptTuningConfig from(Config section) {
        ConfigReader r = new ConfigReader(requireNonNull(section, "section is null"), "").allow("name");
        int tokens = r.intValue(PrefixTuningConfig.NUM_VIRTUAL_TOKENS, 1, 100_000);
        String init = r.oneOf("init", INITS);
        String text = r.string("init-text");
        if ("text".equals(init) && text.isBlank()) {
            r.problem("init-text", "is empty, but init = text needs the text whose token embeddings start the prompt");
        }
        if ("random".equals(init) && !text.isEmpty()) {
            r.problem("init-text", "is set, but init = random; set init = text to use it");
        }
        r.finish();
        return new PromptTuningConfig(tokens, init, text);
    }
}
