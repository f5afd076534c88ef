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
     * Parses and validates this factory's section: the user's keys over the defaults from the
     * plugin's {@code reference.conf} ({@code peft4j.methods.<name>} etc.), without the selector key
     * ({@code name}, {@code format}) and the host's own keys. Must reject unknown keys and report all
     * problems together: read with {@code new ConfigReader(section, "")} and call
     * {@link dev.peft4j.api.config.ConfigReader#finish()}, which throws
     * {@link dev.peft4j.api.config.InvalidConfigException}; the host places the reported keys under
     * the section's path ({@code method.r}) and keeps each value's file and line.
     */
    C parseConfig(Config section);
}
