package dev.peft4j.api.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** Layer normalisation over the last dimension. Parameters {@code weight} (ones) and {@code bias} (zeros). */
public class LayerNorm extends Module {
    private final long dim;
    private final float eps;

    public LayerNorm(NDManager manager, long dim, float eps) {
        super(ModuleType.LAYER_NORM);
        this.dim = dim;
        this.eps = eps;
        addParameter("weight", manager.ones(new Shape(dim), DataType.FLOAT32), true);
        addParameter("bias", manager.zeros(new Shape(dim), DataType.FLOAT32), true);
    }

    public float eps() {
        return eps;
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        return x.getNDArrayInternal()
                .layerNorm(x, new Shape(dim), parameter("weight").value(), parameter("bias").value(), eps)
                .singletonOrThrow();
    }

    @Override
    protected String extraDescription() {
        return " dim=" + dim + " eps=" + eps;
    }
}
