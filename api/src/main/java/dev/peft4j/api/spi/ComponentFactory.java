package dev.peft4j.api.spi;

import com.typesafe.config.Config;

/**
 * What every factory has: a registered name and a strict parser for its config section.
 *
 * @param <C> the immutable, validated config the factory's component is built from
 */
public interface ComponentFactory<C> {
    /** The registered name users write in configs ({@code lora}, {@code sequence-classification}). */
    String name();

    /** One line for {@code peft4j plugins}. */
    default String description() {
        return "";
    }

    /**
     * Parses and validates this factory's section (defaults from reference.conf already merged in).
     * Must reject unknown keys and report all problems together: use
     * {@link dev.peft4j.api.config.ConfigReader} and throw its
     * {@link dev.peft4j.api.config.InvalidConfigException}.
     */
    C parseConfig(Config section);
}
