package dev.peft4j.api.nn;

import static java.util.Objects.requireNonNull;

/**
 * What kind of module a node of the tree is. An open set: the constants are the types peft4j's
 * architectures use; plugins may define their own with {@link #of(String)}.
 */
public record ModuleType(String name) {
    public static final ModuleType MODEL = new ModuleType("model");
    public static final ModuleType CONTAINER = new ModuleType("container");
    public static final ModuleType EMBEDDINGS = new ModuleType("embeddings");
    public static final ModuleType EMBEDDING = new ModuleType("embedding");
    public static final ModuleType LINEAR = new ModuleType("linear");
    public static final ModuleType LAYER_NORM = new ModuleType("layer_norm");
    public static final ModuleType RMS_NORM = new ModuleType("rms_norm");
    public static final ModuleType DROPOUT = new ModuleType("dropout");
    public static final ModuleType ATTENTION = new ModuleType("attention");
    public static final ModuleType MLP = new ModuleType("mlp");
    public static final ModuleType LAYER = new ModuleType("layer");
    public static final ModuleType ENCODER = new ModuleType("encoder");
    public static final ModuleType DECODER = new ModuleType("decoder");
    public static final ModuleType POOLER = new ModuleType("pooler");
    public static final ModuleType HEAD = new ModuleType("head");
    public static final ModuleType ADAPTER = new ModuleType("adapter");

    public ModuleType {
        requireNonNull(name, "name is null");
        if (name.isBlank()) {
            throw new IllegalArgumentException("module type name is blank");
        }
    }

    public static ModuleType of(String name) {
        return new ModuleType(name);
    }

    @Override
    public String toString() {
        return name;
    }
}
