package dev.peft4j.adapters.ia3;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;

/**
 * A Linear with an IA3 scaling vector, laid out like PEFT's {@code ia3.Linear} once saved: child
 * {@code base_layer} (frozen) and parameter {@code ia3_l}, {@code [1, in]} for a feed-forward module (the
 * input is scaled: {@code base(x * l)}) or {@code [out, 1]} otherwise (the output is scaled:
 * {@code base(x) * l}, bias included). Initialised to ones, the identity.
 */
public final class Ia3Linear extends Module {
    private final boolean feedforward;
    private boolean merged;
    private boolean disabled;

    public Ia3Linear(Linear base, boolean feedforward) {
        super(ModuleType.of("ia3_linear"));
        requireNonNull(base, "base is null");
        this.feedforward = feedforward;
        addChild("base_layer", base);
        NDManager manager = base.weight().getManager();
        Shape shape = feedforward ? new Shape(1, base.inFeatures()) : new Shape(base.outFeatures(), 1);
        addParameter("ia3_l", manager.ones(shape, DataType.FLOAT32), true);
    }

    public Linear baseLayer() {
        return (Linear) child("base_layer");
    }

    public boolean feedforward() {
        return feedforward;
    }

    public Parameter scaling() {
        return parameter("ia3_l");
    }

    public boolean isMerged() {
        return merged;
    }

    void setDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        Module base = child("base_layer");
        if (disabled || merged) {
            return base.forward(x, context);
        }
        NDArray l = scaling().value();
        if (feedforward) {
            // x [..., in] * l [1, in]: the first operand is the per-call x, so the product is the call's.
            return base.forward(x.mul(l), context);
        }
        // y [..., out] -> [..., out, 1] * l [out, 1] -> [..., out]; never an op on l first (it would attach
        // the result to the model's long-lived manager).
        NDArray y = base.forward(x, context);
        return y.expandDims(-1).mul(l).squeeze(-1);
    }

    /** PEFT's {@code merge}: the weight scaled by l (rows for outputs, columns for inputs), the bias too when the output is scaled. */
    void merge() {
        if (merged) {
            return;
        }
        rescale(false);
        merged = true;
    }

    /** Divides the scaling back out (exact to float rounding; PEFT adds 1e-8 to l, peft4j does not). */
    void unmerge() {
        if (!merged) {
            return;
        }
        rescale(true);
        merged = false;
    }

    private void rescale(boolean divide) {
        Linear base = baseLayer();
        Parameter weight = base.parameter("weight");
        NDArray newWeight;
        NDArray newBias = null;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray l = scaling().value().stopGradient();
            // storage layout: [out, in] or, for fan_in_fan_out (GPT-2 Conv1D), [in, out]
            NDArray factor = base.fanInFanOut() ? l.transpose() : l;
            NDArray w = weight.value().stopGradient();
            newWeight = divide ? w.div(factor) : w.mul(factor);
            NDScope.unregister(newWeight);
            if (!feedforward && base.hasBias()) {
                NDArray b = base.parameter("bias").value().stopGradient();
                NDArray flat = l.reshape(-1);
                newBias = divide ? b.div(flat) : b.mul(flat);
                NDScope.unregister(newBias);
            }
        }
        weight.setValue(newWeight);
        if (newBias != null) {
            base.parameter("bias").setValue(newBias);
        }
    }

    /** The base layer as it is now (merged or not), its scaling vector freed; do not use this module afterwards. */
    Linear release() {
        scaling().value().close();
        return baseLayer();
    }

    @Override
    protected String extraDescription() {
        return (feedforward ? " feedforward" : "") + (merged ? " merged" : "");
    }
}
