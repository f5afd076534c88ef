package dev.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Parameter;
import java.util.Random;

/** torch's default initialisations, seeded (values differ from torch's generator, distributions do not). */
final class Init {
    private Init() {}

    /** {@code nn.Embedding}: N(0, 1). */
    static void normal(Parameter p, Random random, NDManager manager) {
        float[] v = new float[Math.toIntExact(p.shape().size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        set(p, v, manager);
    }

    /** {@code nn.Linear}: weight and bias U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)). */
    static void linear(Linear linear, Random random, NDManager manager) {
        double bound = 1.0 / Math.sqrt(linear.inFeatures());
        for (Parameter p : linear.localParameters().values()) {
            float[] v = new float[Math.toIntExact(p.shape().size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
            }
            set(p, v, manager);
        }
    }

    /** Java-buffer arrays are copied into torch-owned memory (DJL's create wraps the buffer). */
    static void set(Parameter p, float[] values, NDManager manager) {
        try (NDArray javaBacked = manager.create(values, p.shape())) {
            p.setValue(javaBacked.duplicate());
        }
    }
}
