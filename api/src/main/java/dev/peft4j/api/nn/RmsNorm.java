package dev.peft4j.api.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Root-mean-square normalisation over the last dimension (Llama):
 * {@code weight * x / sqrt(mean(x^2) + eps)}. Parameter {@code weight} (ones).
 */
public class RmsNorm extends Module {
    private final long dim;
    private final float eps;

    public RmsNorm(NDManager manager, long dim, float eps) {
        super(ModuleType.RMS_NORM);
        this.dim = dim;
        this.eps = eps;
        addParameter("weight", manager.ones(new Shape(dim), DataType.FLOAT32), true);
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        // x [..., dim]; variance [..., 1]. x.mul(x), not pow(2): no scalar operand in the graph.
        NDArray variance = x.mul(x).mean(new int[] {-1}, true);
        NDArray normalized = x.div(variance.add(context.scalar(eps)).sqrt());
        return normalized.mul(parameter("weight").value());
    }

    @Override
    protected String extraDescription() {
        return " dim=" + dim + " eps=" + eps;
    }
}
