package dev.peft4j.api.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

/** A lookup table: int64 ids {@code [...]} to vectors {@code [..., dim]}. Parameter {@code weight [num, dim]}. */
public class Embedding extends Module {
    private final long numEmbeddings;
    private final long embeddingDim;

    public Embedding(NDManager manager, long numEmbeddings, long embeddingDim) {
        super(ModuleType.EMBEDDING);
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        addParameter("weight", manager.zeros(new Shape(numEmbeddings, embeddingDim), DataType.FLOAT32), true);
    }

    public long numEmbeddings() {
        return numEmbeddings;
    }

    public long embeddingDim() {
        return embeddingDim;
    }

    public NDArray weight() {
        return parameter("weight").value();
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray ids, ForwardContext context) {
        NDArray longIds = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        return ids.getNDArrayInternal().embedding(longIds, weight(), SparseFormat.DENSE).singletonOrThrow();
    }

    @Override
    protected String extraDescription() {
        return " num=" + numEmbeddings + " dim=" + embeddingDim;
    }
}
