package dev.peft4j.api.nn;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Per-call state of a forward pass: training or inference, the manager that owns the pass's
 * temporaries, torch-owned scalar constants, and typed attributes that modules exchange (a KV
 * cache, prefix key/values, ...).
 *
 * <p>Why {@link #scalar(float)} exists: DJL's {@code NDArray.mul(Number)} wraps the number in a
 * tensor over a Java buffer and frees it at once, but autograd keeps that tensor for the backward
 * pass; after a GC the gradient reads reused memory. A constant created by torch
 * ({@code manager.full}) is owned by torch and lives as long as the graph needs it.
 */
public final class ForwardContext {
    /** A typed key for {@link #attribute}. */
    public record Key<T>(String name, Class<T> type) {
        public Key {
            requireNonNull(name, "name is null");
            requireNonNull(type, "type is null");
        }
    }

    private final NDManager manager;
    private final boolean training;
    private final Map<Float, NDArray> scalars = new HashMap<>();
    private final Map<Key<?>, Object> attributes = new HashMap<>();

    public ForwardContext(NDManager manager, boolean training) {
        this.manager = requireNonNull(manager, "manager is null");
        this.training = training;
    }

    public static ForwardContext inference(NDManager manager) {
        return new ForwardContext(manager, false);
    }

    public static ForwardContext training(NDManager manager) {
        return new ForwardContext(manager, true);
    }

    public NDManager manager() {
        return manager;
    }

    public boolean training() {
        return training;
    }

    /**
     * A 0-d float32 constant owned by torch, cached for this context. Safe to use in
     * differentiated arithmetic ({@code x.mul(ctx.scalar(0.5f))}); a 0-d tensor does not change
     * the dtype of a float16 operand.
     */
    public NDArray scalar(float value) {
        return scalars.computeIfAbsent(value, v -> manager.full(new Shape(), v, DataType.FLOAT32));
    }

    public <T> Optional<T> attribute(Key<T> key) {
        return Optional.ofNullable(key.type().cast(attributes.get(key)));
    }

    public <T> ForwardContext setAttribute(Key<T> key, T value) {
        if (value == null) {
            attributes.remove(key);
        } else {
            attributes.put(key, key.type().cast(value));
        }
        return this;
    }
}
