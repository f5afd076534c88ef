package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.peft4j.api.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter; PyTorch's {@code torch.optim.AdamW} update) over named parameters.
 * Weight decay is decoupled ({@code w -= lr * wd * w}) and skipped for biases and norm weights. The
 * moment buffers are created eagerly in the optimizer's own manager, never inside a step's scope.
 * Updates run in place on the parameter tensors, outside any gradient collector, inside an
 * {@link NDScope} that frees the step's temporaries; gradients are zeroed after each update (DJL's
 * collector never zeroes them) and every {@code getGradient()} handle is closed.
 *
 * <p>Parameter groups: each parameter has a learning-rate scale (its rate is the scheduled rate times the
 * scale) and may be inactive (gradual unfreezing: no gradient, skipped by clipping and updates, no weight decay).
 * As in PyTorch, each parameter counts its own steps for the bias correction, so a parameter that starts training
 * at update 100 gets the bias correction of its first step; the counts are part of {@link #state()}.
 */
public final class AdamW implements AutoCloseable {
    private final Map<String, Parameter> parameters;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private final Map<String, Boolean> decays = new LinkedHashMap<>();
    private final Map<String, Double> scales = new LinkedHashMap<>();
    private final Map<String, Long> steps = new LinkedHashMap<>();
    private final java.util.Set<String> active = new java.util.LinkedHashSet<>();
    private final NDManager manager;
    private NDManager stepTensors;
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final double weightDecay;
    private long step;

    public AdamW(Map<String, Parameter> parameters, NDManager parent, double beta1, double beta2, double epsilon, double weightDecay) {
        this.parameters = new LinkedHashMap<>(requireNonNull(parameters, "parameters is null"));
        this.manager = requireNonNull(parent, "parent is null").newSubManager();
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        this.weightDecay = weightDecay;
        parameters.forEach((name, p) -> {
            expAvg.put(name, manager.zeros(p.shape()));
            expAvgSq.put(name, manager.zeros(p.shape()));
            decays.put(name, decays(name, p));
            scales.put(name, 1.0);
            steps.put(name, 0L);
        });
        active.addAll(this.parameters.keySet());
        stepTensors = manager.newSubManager();
    }

    /** Learning-rate scales by parameter name (every parameter must be named, each scale finite and > 0). */
    public void setLearningRateScales(Map<String, Double> byName) {
        requireNonNull(byName, "byName is null");
        if (!byName.keySet().equals(parameters.keySet())) {
            throw new IllegalArgumentException("learning-rate scales must name exactly the optimizer's parameters");
        }
        byName.forEach((name, v) -> {
            if (!(v > 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("learning-rate scale of " + name + " must be finite and > 0, got " + v);
            }
        });
        scales.putAll(byName);
    }

    /** The parameters that clipping and updates see (the others receive no gradient); all by default. */
    public void setActive(java.util.Collection<String> names) {
        if (!parameters.keySet().containsAll(names)) {
            throw new IllegalArgumentException("unknown parameters among " + names);
        }
        active.clear();
        parameters.keySet().stream().filter(names::contains).forEach(active::add);
    }

    /** The learning rate parameter {@code name} is updated with when the schedule gives {@code lr}. */
    public double learningRate(String name, double lr) {
        return lr * scales.get(name);
    }

    /** How many updates parameter {@code name} has had. */
    public long stepCount(String name) {
        return steps.get(name);
    }

    /** No decay on biases and on LayerNorm/RMSNorm weights (1-d tensors or names with norm in them). */
    static boolean decays(String name, Parameter p) {
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        return !(lower.endsWith(".bias") || lower.equals("bias") || lower.contains("layernorm") || lower.contains("layer_norm")
                || lower.contains("norm.weight") || lower.contains("ln_") || p.shape().dimension() < 2);
    }

    public long stepCount() {
        return step;
    }

    public Map<String, Parameter> parameters() {
        return parameters;
    }

    /** Names of the parameters that get weight decay. */
    public List<String> decayed() {
        return decays.entrySet().stream().filter(Map.Entry::getValue).map(Map.Entry::getKey).toList();
    }

    /**
     * The global L2 norm of all gradients, and (if {@code maxNorm > 0} and it is larger) scales them
     * in place so the norm becomes {@code maxNorm}, as {@code torch.nn.utils.clip_grad_norm_}.
     */
    public double clipGradients(double maxNorm) {
        try (NDScope ignored = new NDScope()) {
            double sumSq = 0;
            for (String name : active) {
                // one pass per tensor (torch's norm), no squared temporary
                double n = parameters.get(name).value().getGradient().norm().getFloat();
                sumSq += n * n;
            }
            double norm = Math.sqrt(sumSq);
            if (maxNorm > 0 && norm > maxNorm && Double.isFinite(norm)) {
                float scale = (float) (maxNorm / (norm + 1e-6));
                for (String name : active) {
                    parameters.get(name).value().getGradient().muli(scale);
                }
            }
            return norm;
        }
    }

    /** One update of the active parameters with learning rate {@code lr} (times each one's scale), then zeroes their gradients. */
    public void step(double lr) {
        step++;
        try (NDScope ignored = new NDScope()) {
            for (String name : active) {
                long t = steps.merge(name, 1L, Long::sum);
                double bc1 = 1 - Math.pow(beta1, t);
                double bc2 = 1 - Math.pow(beta2, t);
                double rate = lr * scales.get(name);
                // torch.optim.AdamW:  w *= 1 - lr wd;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
                //                     w -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
                // DJL's fused native update (one JNI call per tensor, no Java-side temporaries) computes
                //                     w -= lrbc * m / (sqrt(v) + eps')  with lrbc = lr sqrt(bc2)/bc1,
                // which is the same update for eps' = eps * sqrt(bc2); it zeroes the gradient afterwards.
                float lrBiasCorrection = (float) (rate * Math.sqrt(bc2) / bc1);
                float sqrtBc2 = (float) Math.sqrt(bc2);
                float scaledEpsilon = (float) (epsilon * sqrtBc2);
                NDArray w = parameters.get(name).value();
                NDArray g = w.getGradient();
                float decay = decays.get(name) ? (float) weightDecay : 0f;
                w.getNDArrayInternal().adamUpdate(new NDList(w, g, expAvg.get(name), expAvgSq.get(name)), new NDList(w), (float) rate,
                        lrBiasCorrection, decay, 1f, -1f, (float) beta1, (float) beta2, scaledEpsilon, false, true);
            }
        }
    }

    /** Zeroes every gradient without updating (e.g. after a skipped step). */
    public void zeroGradients() {
        try (NDScope ignored = new NDScope()) {
            for (String name : active) {
                NDArray g = parameters.get(name).value().getGradient();
                g.subi(g);
            }
        }
    }

    /**
     * The moment buffers by {@code name.exp_avg} / {@code name.exp_avg_sq} and each parameter's step count
     * ({@code name.step}, int64 [1]), for checkpoints. The step tensors stay valid until the next call.
     */
    public Map<String, NDArray> state() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        expAvg.forEach((k, v) -> out.put(k + ".exp_avg", v));
        expAvgSq.forEach((k, v) -> out.put(k + ".exp_avg_sq", v));
        stepTensors.close();
        stepTensors = manager.newSubManager();
        steps.forEach((k, v) -> out.put(k + ".step", stepTensors.create(new long[] {v})));
        return out;
    }

    /**
     * Restores {@link #state()} and the step count; every moment tensor must be present with the right shape. A
     * parameter's own step count comes from {@code name.step}, or is {@code steps} in a checkpoint written before
     * those existed (when every parameter trained from the first update).
     */
    public void load(Map<String, NDArray> state, long steps) {
        for (String name : parameters.keySet()) {
            for (String suffix : new String[] {".exp_avg", ".exp_avg_sq"}) {
                NDArray saved = state.get(name + suffix);
                NDArray target = (suffix.equals(".exp_avg") ? expAvg : expAvgSq).get(name);
                if (saved == null || !saved.getShape().equals(target.getShape())) {
                    throw new dev.peft4j.api.Peft4jException("optimizer state '" + name + suffix + "' is "
                            + (saved == null ? "missing" : "of shape " + saved.getShape()) + ", expected " + target.getShape());
                }
            }
        }
        Map<String, Long> own = new LinkedHashMap<>();
        for (String name : parameters.keySet()) {
            NDArray saved = state.get(name + ".step");
            if (saved == null) {
                own.put(name, steps);
            } else if (saved.getShape().size() != 1 || saved.getDataType() != ai.djl.ndarray.types.DataType.INT64
                    || saved.getLong() < 0 || saved.getLong() > steps) {
                throw new dev.peft4j.api.Peft4jException("optimizer state '" + name + ".step' is " + saved.getDataType() + " " + saved.getShape()
                        + (saved.getShape().size() == 1 ? " = " + saved.toLongArray()[0] : "") + ", expected one int64 in [0, " + steps + "]");
            } else {
                own.put(name, saved.getLong());
            }
        }
        for (String name : parameters.keySet()) {
            copyInto(expAvg.get(name), state.get(name + ".exp_avg"));
            copyInto(expAvgSq.get(name), state.get(name + ".exp_avg_sq"));
        }
        this.steps.putAll(own);
        this.step = steps;
    }

    static void copyInto(NDArray target, NDArray source) {
        try (NDScope ignored = new NDScope()) {
            target.subi(target).addi(source.toType(target.getDataType(), false));
        }
    }

    @Override
    public void close() {
        stepTensors.close();
        manager.close();
    }
}
