package dev.peft4j.lora;

import dev.peft4j.api.tuner.PeftKeys;

/**
 * LoRA's PEFT key names, in one place (through the shared {@link PeftKeys} rule): what {@link LoraModel#stateDict}
 * writes, what loading expects and parses back. {@code base_model.model.<path>.lora_A.weight}, {@code .lora_B.weight},
 * {@code .lora_magnitude_vector} (DoRA), a wrapped module's bias {@code <path>.base_layer.bias}, and any other trained
 * parameter under its full name.
 */
final class LoraKeys {
    static final String LORA_A = "lora_A.weight";
    static final String LORA_B = "lora_B.weight";
    static final String MAGNITUDE = "lora_magnitude_vector";
    static final String BASE_LAYER_BIAS = "base_layer.bias";

    /** What a key names. */
    enum Kind {
        LORA_A,
        LORA_B,
        MAGNITUDE,
        /** A parameter under its full name (modules to save, trained biases). */
        PARAMETER
    }

    /** A parsed key: the module path for LoRA tensors, the full parameter name otherwise. */
    record Parsed(Kind kind, String name) {}

    private LoraKeys() {}

    static String loraA(String path) {
        return PeftKeys.key(path, LORA_A);
    }

    static String loraB(String path) {
        return PeftKeys.key(path, LORA_B);
    }

    static String magnitude(String path) {
        return PeftKeys.key(path, MAGNITUDE);
    }

    /** A trained parameter (bias, module to save) by its full name. */
    static String parameter(String name) {
        return PeftKeys.key(name);
    }

    /** The bias of a wrapped (LoRA) module: {@code <path>.base_layer.bias}. */
    static String baseLayerBias(String path) {
        return path + "." + BASE_LAYER_BIAS;
    }

    /** A base bias's name once its module is wrapped ({@code query.bias} becomes {@code query.base_layer.bias}). */
    static String wrappedBiasName(String name, java.util.Collection<String> wrappedPaths) {
        String module = name.substring(0, Math.max(0, name.length() - ".bias".length()));
        return wrappedPaths.contains(module) ? baseLayerBias(module) : name;
    }

    /** Whether a full parameter name is inside a LoRA layer's own modules. */
    static boolean isAdapterInternal(String name) {
        return name.contains(".lora_A.") || name.contains(".lora_B.") || name.contains("." + MAGNITUDE + ".");
    }

    static boolean hasPrefix(String key) {
        return key.startsWith(PeftKeys.PREFIX);
    }

    /** The inverse of the builders above for a key that has the prefix. */
    static Parsed parse(String key) {
        String name = PeftKeys.name(key);
        if (name.endsWith("." + MAGNITUDE)) {
            return new Parsed(Kind.MAGNITUDE, name.substring(0, name.length() - MAGNITUDE.length() - 1));
        }
        if (name.endsWith("." + LORA_A)) {
            return new Parsed(Kind.LORA_A, name.substring(0, name.length() - LORA_A.length() - 1));
        }
        if (name.endsWith("." + LORA_B)) {
            return new Parsed(Kind.LORA_B, name.substring(0, name.length() - LORA_B.length() - 1));
        }
        return new Parsed(Kind.PARAMETER, name);
    }
}
