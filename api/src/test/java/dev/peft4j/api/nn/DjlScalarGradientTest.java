package dev.peft4j.api.nn;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

/**
 * Pins DJL bug 1 (DJL_NOTES.md): {@code NDArray.mul(Number)} frees its scalar operand while
 * autograd still holds it. The project's rule is {@link ForwardContext#scalar(float)}: this test
 * proves that form gives the exact gradient after a forced GC and heavy allocation.
 */
class DjlScalarGradientTest {
    @Test
    void gradientOfTorchOwnedScalarProductIsExactAfterGc() {
        Engine.getInstance();
        for (int trial = 0; trial < 20; trial++) {
            try (NDManager manager = NDManager.newBaseManager()) {
                ForwardContext ctx = ForwardContext.training(manager);
                NDArray w = manager.create(new float[] {1f, 2f, 3f}).duplicate();
                w.setRequiresGradient(true);
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    NDArray y = w.mul(ctx.scalar(3f)).sum();
                    churnDirectMemory(manager);
                    collector.backward(y);
                }
                try (NDArray grad = w.getGradient()) {
                    assertThat(grad.toFloatArray()).containsExactly(3f, 3f, 3f);
                }
            }
        }
    }

    /** Frees and reuses Java direct buffers so that a freed scalar buffer would be overwritten. */
    static void churnDirectMemory(NDManager manager) {
        for (int i = 0; i < 50; i++) {
            float[] junk = new float[1024];
            java.util.Arrays.fill(junk, 12345f);
            try (NDArray a = manager.create(junk)) {
                a.getShape();
            }
            try (NDArray b = manager.create(12345f)) {
                b.getShape();
            }
        }
        System.gc();
        for (int i = 0; i < 50; i++) {
            try (NDArray c = manager.create(new float[] {12345f}, new Shape(1))) {
                c.getShape();
            }
        }
    }
}
