package dev.peft4j.api.model;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A model's HuggingFace {@code config.json}, kept whole (so it can be written back unchanged), with
 * typed accessors that fail with the key and the file when a field is missing or of the wrong type.
 * Values are as JSON parsers give them: {@code Number}, {@code String}, {@code Boolean}, {@code List},
 * {@code Map}, or {@code null}.
 */
public final class ModelConfig {
    private final Map<String, Object> values;
    private final String source;

    /** @param source where the config came from (a file path), used in error messages */
    public ModelConfig(Map<String, Object> values, String source) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(requireNonNull(values, "values is null")));
        this.source = requireNonNull(source, "source is null");
    }

    public Map<String, Object> values() {
        return values;
    }

    public String source() {
        return source;
    }

    public String modelType() {
        return string("model_type");
    }

    public boolean has(String key) {
        return values.containsKey(key) && values.get(key) != null;
    }

    public String string(String key) {
        Object v = require(key);
        if (!(v instanceof String s)) {
            throw wrongType(key, v, "a string");
        }
        return s;
    }

    public int integer(String key) {
        Object v = require(key);
        if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
            throw wrongType(key, v, "an integer");
        }
        return n.intValue();
    }

    public int integer(String key, int defaultValue) {
        return has(key) ? integer(key) : defaultValue;
    }

    public double number(String key) {
        Object v = require(key);
        if (!(v instanceof Number n)) {
            throw wrongType(key, v, "a number");
        }
        return n.doubleValue();
    }

    public double number(String key, double defaultValue) {
        return has(key) ? number(key) : defaultValue;
    }

    public boolean bool(String key, boolean defaultValue) {
        if (!has(key)) {
            return defaultValue;
        }
        Object v = values.get(key);
        if (!(v instanceof Boolean b)) {
            throw wrongType(key, v, "true or false");
        }
        return b;
    }

    public Optional<Object> optional(String key) {
        return Optional.ofNullable(values.get(key));
    }

    private Object require(String key) {
        Object v = values.get(key);
        if (v == null) {
            throw new Peft4jException(source + ": missing field \"" + key + "\" in model config");
        }
        return v;
    }

    private Peft4jException wrongType(String key, Object value, String expected) {
        return new Peft4jException(source + ": field \"" + key + "\" is " + value + ", expected " + expected);
    }
}
