package dev.peft4j.api.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;

/**
 * Inverted dropout, active only when the context is training: each element is kept with probability
 * {@code 1 - rate} and scaled by {@code 1 / (1 - rate)}. No parameters.
 *
 * <p>The keep mask is drawn as {@code floor(uniform[1 - rate, 2 - rate))} from torch's generator (seeded by
 * {@code Engine.setRandomSeed}), not with {@code torch.dropout}: its CPU kernel draws with
 * {@code bernoulli_}, about three times slower than {@code uniform_}, and dropout was a fifth of a
 * MiniLM LoRA training step. Same distribution; the mask is a torch-owned constant of the graph.
 */
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
        // floor(U[1 - rate, 2 - rate)) is 1 with probability 1 - rate, else 0: a float keep mask in two
        // vectorised passes (a bool comparison would need a slow bool-to-float copy).
        NDManager manager = context.manager();
        NDArray mask;
        try (NDArray uniform = manager.randomUniform(1f - rate, 2f - rate, x.getShape(), x.getDataType())) {
            mask = uniform.floor();
        }
        try (NDArray scaled = mask.muli(context.scalar(1f / (1f - rate)))) {
            // The graph holds its own reference to the mask; closing the handle frees nothing it needs.
            return x.mul(scaled);
        }
    }

    @Override
    protected String extraDescription() {
        return " p=" + rate;
    }
}
