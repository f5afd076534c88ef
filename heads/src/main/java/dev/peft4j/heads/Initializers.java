package dev.peft4j.heads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Random;

/** Seeded initial values, made in Java and moved into torch-owned memory (DJL_NOTES: duplicate, close the original). */
final class Initializers {
    private Initializers() {}

    static NDArray normal(NDManager manager, Shape shape, float std, long seed) {
        Random random = new Random(seed);
        float[] values = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * std);
        }
        return torchOwned(manager.create(values, shape));
    }

    static NDArray zeros(NDManager manager, Shape shape) {
        return manager.zeros(shape);
    }

    private static NDArray torchOwned(NDArray javaBacked) {
        NDArray copy = javaBacked.duplicate();
        javaBacked.close();
        return copy;
    }
}
