package dev.peft4j.api.nn;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * A dense layer {@code y = x W^T + b}. Parameters {@code weight} and optional {@code bias}.
 *
 * <p>{@code weight} is stored {@code [out, in]} like {@code torch.nn.Linear}, unless
 * {@link #fanInFanOut()} is set: then it is stored {@code [in, out]} like GPT-2's {@code Conv1D}
 * (PEFT's {@code fan_in_fan_out}), and the forward pass is {@code x W + b}.
 *
 * <p>Input {@code [..., in]}, output {@code [..., out]}.
 */
public class Linear extends Module {
    private final long inFeatures;
    private final long outFeatures;
    private final boolean fanInFanOut;

    /** Zero-initialised; weights are expected to be loaded or initialised afterwards. */
    public Linear(NDManager manager, long inFeatures, long outFeatures, boolean bias, boolean fanInFanOut) {
        this(manager.zeros(fanInFanOut ? new Shape(inFeatures, outFeatures) : new Shape(outFeatures, inFeatures), DataType.FLOAT32),
                bias ? manager.zeros(new Shape(outFeatures), DataType.FLOAT32) : null, fanInFanOut);
    }

    public Linear(NDManager manager, long inFeatures, long outFeatures, boolean bias) {
        this(manager, inFeatures, outFeatures, bias, false);
    }

    /** Wraps existing tensors (taken over, not copied). {@code bias} may be null. */
    public Linear(NDArray weight, NDArray bias, boolean fanInFanOut) {
        super(ModuleType.LINEAR);
        requireNonNull(weight, "weight is null");
        Shape s = weight.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("linear weight must be 2-d, got " + s);
        }
        this.fanInFanOut = fanInFanOut;
        this.inFeatures = fanInFanOut ? s.get(0) : s.get(1);
        this.outFeatures = fanInFanOut ? s.get(1) : s.get(0);
        addParameter("weight", weight, true);
        if (bias != null) {
            if (!bias.getShape().equals(new Shape(outFeatures))) {
                throw new IllegalArgumentException("linear bias must have shape (" + outFeatures + "), got " + bias.getShape());
            }
            addParameter("bias", bias, true);
        }
    }

    public long inFeatures() {
        return inFeatures;
    }

    public long outFeatures() {
        return outFeatures;
    }

    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    public boolean hasBias() {
        return optionalParameter("bias").isPresent();
    }

    public NDArray weight() {
        return parameter("weight").value();
    }

    /** The weight in {@code [out, in]} layout whatever the storage (a new tensor if transposed). */
    public NDArray weightOutIn() {
        return fanInFanOut ? weight().transpose() : weight();
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        NDArray bias = optionalParameter("bias").map(Parameter::value).orElse(null);
        if (fanInFanOut) {
            NDArray y = x.matMul(weight());
            return bias == null ? y : y.add(bias);
        }
        return ai.djl.nn.core.Linear.linear(x, weight(), bias).singletonOrThrow();
    }

    @Override
    protected String extraDescription() {
        return " in=" + inFeatures + " out=" + outFeatures + (fanInFanOut ? " fan_in_fan_out" : "");
    }
}
