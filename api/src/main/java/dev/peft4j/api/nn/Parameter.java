package dev.peft4j.api.nn;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * A named tensor owned by a {@link Module}. The name is local to its module ({@code weight});
 * the full HuggingFace name is the module path plus this name
 * ({@code encoder.layer.0.attention.self.query.weight}).
 *
 * <p>Trainable means "receives a gradient": the flag is mirrored onto the tensor's
 * {@code requires_grad}.
 */
public final class Parameter {
    private final String name;
    private NDArray value;
    private boolean trainable;

    public Parameter(String name, NDArray value, boolean trainable) {
        this.name = requireNonNull(name, "name is null");
        this.value = requireNonNull(value, "value is null");
        if (name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("parameter name must be a non-empty local name without dots: '" + name + "'");
        }
        setTrainable(trainable);
    }

    public String name() {
        return name;
    }

    public NDArray value() {
        return value;
    }

    public Shape shape() {
        return value.getShape();
    }

    public long size() {
        return value.getShape().size();
    }

    public boolean trainable() {
        return trainable;
    }

    public void setTrainable(boolean trainable) {
        this.trainable = trainable;
        value.setRequiresGradient(trainable);
    }

    /**
     * Replaces the tensor (same shape required), closing the old one. Used by weight loading and
     * by methods that rewrite weights (merge). The trainable flag carries over.
     */
    public void setValue(NDArray newValue) {
        requireNonNull(newValue, "newValue is null");
        if (!newValue.getShape().equals(value.getShape())) {
            throw new IllegalArgumentException("parameter '" + name + "': new value has shape " + newValue.getShape()
                    + ", expected " + value.getShape());
        }
        NDArray old = value;
        value = newValue;
        if (old != newValue) {
            old.close();
        }
        setTrainable(trainable);
    }

    @Override
    public String toString() {
        return name + value.getShape() + (trainable ? " trainable" : " frozen");
    }
}
