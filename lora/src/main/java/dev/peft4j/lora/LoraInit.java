package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;

/**
 * Seeded initialisation of {@code lora_A [r, in]}, with PEFT's distributions (the random stream is Java's,
 * not torch's: same seed, same weights, on every run and machine).
 */
final class LoraInit {
    private LoraInit() {}

    /**
     * KAIMING: {@code nn.init.kaiming_uniform_(a=sqrt(5))} on {@code [r, in]}: gain sqrt(2 / (1 + 5)),
     * bound = gain * sqrt(3 / fan_in) = 1 / sqrt(in). GAUSSIAN: normal with std 1 / r.
     */
    static NDArray loraA(NDManager manager, LoraConfig.Init init, int r, long in, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] data = new float[Math.toIntExact(r * in)];
        if (init == LoraConfig.Init.KAIMING) {
            double bound = 1.0 / Math.sqrt(in);
            for (int i = 0; i < data.length; i++) {
                data[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
            }
        } else {
            double std = 1.0 / r;
            for (int i = 0; i < data.length; i++) {
                data[i] = (float) (gaussian(random) * std);
            }
        }
        return torchOwned(manager, data, new Shape(r, in));
    }

    /** Standard normal by Box-Muller (SplittableRandom has no nextGaussian on Java 17). */
    static double gaussian(SplittableRandom random) {
        double u1 = random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** A tensor from Java data, moved into torch-owned memory (the direct-buffer original is closed). */
    static NDArray torchOwned(NDManager manager, float[] data, Shape shape) {
        NDArray javaBacked = manager.create(data, shape);
        NDArray owned = javaBacked.duplicate();
        javaBacked.close();
        return owned;
    }

    /** A per-module, per-adapter seed derived from the run's seed (stable across runs and module order). */
    static long seedFor(long seed, String adapterName, String path) {
        long h = seed ^ 0x9E3779B97F4A7C15L;
        for (char c : (adapterName + "/" + path).toCharArray()) {
            h = (h ^ c) * 0x100000001B3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return h;
    }
}
