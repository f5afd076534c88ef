package dev.peft4j.runtime.config;

import dev.peft4j.api.config.ConfigReader;

/**
 * Reads one host-owned section of the validated experiment ({@code model}, {@code run},
 * {@code train}, {@code data}, ...) into typed, immutable settings. The reader is over the section
 * with defaults merged in (from reference.conf, where every key of the section must be declared)
 * and without the keys of component sections inside it (a data split's reader keys): read every
 * key, report range and cross-field problems on the reader; the validator collects them with all
 * the others. Bound in Guice with a {@code Multibinder<SettingsSection<?>>}.
 *
 * @param <T> the settings type
 */
public interface SettingsSection<T> {
    /** The section's top-level key ({@code train}). */
    String path();

    /** The settings type, for {@link ValidatedExperiment#settings(Class)}. */
    Class<T> type();

    T read(ConfigReader reader);
}
