package dev.peft4j.api.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/** Inverted dropout, active only when the context is training. No parameters. */
public class Dropout extends Module {
    private final float rate;

    public Dropout(float rate) {
        super(ModuleType.DROPOUT);
        if (!(rate >= 0f && rate < 1f)) {
            throw new IllegalArgumentException("dropout rate must be in [0, 1), got " + rate);
        }
        this.rate = rate;
    }

    public float rate() {
        return rate;
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        if (!context.training() || rate == 0f) {
            return x;
        }
        return x.getNDArrayInternal().dropout(x, rate, true).singletonOrThrow();
    }

    @Override
    protected String extraDescription() {
        return " p=" + rate;
    }
}
