package dev.peft4j.api.tuner;

import static java.util.Objects.requireNonNull;

/**
 * HF PEFT's names for saved adapter tensors: a module path under the adapted root, prefixed by
 * {@value #PREFIX} ({@code PeftModel.base_model.model}) and followed by the method's own suffix
 * ({@code lora_A.weight}, {@code ia3_l}, {@code ln_tuning_layers.weight}). One place for every method,
 * built-in or third-party, so that files agree with PEFT's {@code get_peft_model_state_dict}.
 */
public final class PeftKeys {
    /** The prefix PEFT puts before module paths in saved keys. */
    public static final String PREFIX = "base_model.model.";

    private PeftKeys() {}

    /** {@code base_model.model.<path>.<suffix>}. */
    public static String key(String path, String suffix) {
        requireNonNull(path, "path is null");
        requireNonNull(suffix, "suffix is null");
        return PREFIX + (path.isEmpty() ? suffix : path + "." + suffix);
    }

    /** {@code base_model.model.<name>} for a full parameter name. */
    public static String key(String name) {
        return PREFIX + requireNonNull(name, "name is null");
    }

    /** The module path or parameter name of a key (the prefix removed), or the key itself when it has none. */
    public static String name(String key) {
        requireNonNull(key, "key is null");
        return key.startsWith(PREFIX) ? key.substring(PREFIX.length()) : key;
    }
}
