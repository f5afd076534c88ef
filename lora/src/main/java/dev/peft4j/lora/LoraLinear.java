package dev.peft4j.lora;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A Linear with LoRA adapters, laid out exactly like PEFT's {@code lora.Linear}: children {@code base_layer}
 * (the original Linear, frozen), {@code lora_dropout.<adapter>}, {@code lora_A.<adapter>} (Linear in -&gt; r,
 * no bias), {@code lora_B.<adapter>} (Linear r -&gt; out, no bias) and, for DoRA adapters,
 * {@code lora_magnitude_vector.<adapter>.weight [out]}.
 *
 * <p>Forward (input {@code x [..., in]}, output {@code [..., out]}), with the active adapter:
 * {@code base(x) + B(A(dropout(x))) * scaling}; DoRA as PEFT's {@code DoraLinearLayer.forward}. When
 * merged or disabled, only the base layer runs. {@code lora_A}/{@code lora_B} are plain {@code [out, in]}
 * linears even when the base layer is stored {@code [in, out]} (GPT-2 Conv1D); only the merged delta is
 * transposed then, as PEFT does.
 */
public class LoraLinear extends Module {
    /** One adapter's hyper-parameters on this module (rank and alpha after rank/alpha patterns). */
    public record AdapterSpec(int r, double alpha, double scaling, boolean dora) {}

    private final Map<String, AdapterSpec> specs = new LinkedHashMap<>();
    private final Deque<String> mergedAdapters = new ArrayDeque<>();
    /** DoRA weight norms computed at merge time, needed to unmerge ([out], owned by the base weight's manager). */
    private final Map<String, NDArray> doraMergeNorms = new LinkedHashMap<>();
    private String activeAdapter;
    private boolean disabled;

    public LoraLinear(Linear base) {
        super(ModuleType.of("lora_linear"));
        requireNonNull(base, "base is null");
        addChild("base_layer", base);
        addChild("lora_dropout", new AdapterDict());
        addChild("lora_A", new AdapterDict());
        addChild("lora_B", new AdapterDict());
        addChild("lora_magnitude_vector", new AdapterDict());
    }

    public Linear baseLayer() {
        return (Linear) child("base_layer");
    }

    public Set<String> adapterNames() {
        return Collections.unmodifiableSet(specs.keySet());
    }

    public AdapterSpec spec(String adapter) {
        AdapterSpec s = specs.get(adapter);
        if (s == null) {
            throw new Peft4jException("module has no LoRA adapter '" + adapter + "'; it has " + specs.keySet());
        }
        return s;
    }

    public Linear loraA(String adapter) {
        spec(adapter);
        return (Linear) child("lora_A").child(adapter);
    }

    public Linear loraB(String adapter) {
        spec(adapter);
        return (Linear) child("lora_B").child(adapter);
    }

    /** DoRA's magnitude parameter of {@code adapter}; only for DoRA adapters. */
    public Parameter magnitude(String adapter) {
        if (!spec(adapter).dora()) {
            throw new Peft4jException("adapter '" + adapter + "' is not a DoRA adapter");
        }
        return child("lora_magnitude_vector").child(adapter).parameter("weight");
    }

    public String activeAdapter() {
        return activeAdapter;
    }

    public boolean isMerged() {
        return !mergedAdapters.isEmpty();
    }

    void setActiveAdapter(String adapter) {
        if (adapter != null) {
            spec(adapter);
        }
        activeAdapter = adapter;
    }

    void setDisabled(boolean disabled) {
        this.disabled = disabled;
    }

    /**
     * Adds an adapter with fresh weights: {@code lora_A} from {@code init} with {@code seed}, {@code lora_B}
     * zero, DoRA magnitude = row norms of the base weight (PEFT computes {@code ||W + scaling B A||} with B = 0).
     * Tensors live in the base weight's manager.
     */
    void addAdapter(String name, int r, double alpha, double scaling, double dropout, boolean dora, LoraConfig.Init init, long seed) {
        if (specs.containsKey(name)) {
            throw new Peft4jException("module already has a LoRA adapter named '" + name + "'");
        }
        Linear base = baseLayer();
        NDManager manager = base.weight().getManager();
        long in = base.inFeatures();
        long out = base.outFeatures();
        NDArray a = LoraInit.loraA(manager, init, r, in, seed);
        NDArray b = manager.zeros(new Shape(out, r), DataType.FLOAT32);
        ((AdapterDict) child("lora_dropout")).put(name, new Dropout((float) dropout));
        ((AdapterDict) child("lora_A")).put(name, new Linear(a, null, false));
        ((AdapterDict) child("lora_B")).put(name, new Linear(b, null, false));
        specs.put(name, new AdapterSpec(r, alpha, scaling, dora));
        if (dora) {
            ((AdapterDict) child("lora_magnitude_vector")).put(name, new DoraMagnitude(weightNorm(name, null)));
        }
    }

    void deleteAdapter(String name) {
        spec(name);
        if (mergedAdapters.contains(name)) {
            throw new Peft4jException("adapter '" + name + "' is merged; unmerge before deleting it");
        }
        for (String dict : new String[] {"lora_dropout", "lora_A", "lora_B", "lora_magnitude_vector"}) {
            AdapterDict d = (AdapterDict) child(dict);
            if (d.hasChild(name)) {
                Module removed = d.child(name);
                replace(dict, old -> d.without(name));
                removed.localParameters().values().forEach(p -> p.value().close());
            }
        }
        specs.remove(name);
        if (name.equals(activeAdapter)) {
            activeAdapter = null;
        }
    }

    /**
     * Frees every adapter tensor (and merge bookkeeping) and returns the base layer as it is now, merged or
     * not; this module must not be used afterwards.
     */
    Linear release() {
        for (String dict : new String[] {"lora_A", "lora_B", "lora_magnitude_vector"}) {
            child(dict).namedParameters().values().forEach(p -> p.value().close());
        }
        doraMergeNorms.values().forEach(NDArray::close);
        doraMergeNorms.clear();
        specs.clear();
        mergedAdapters.clear();
        activeAdapter = null;
        return baseLayer();
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        return new NDList(forward(inputs.singletonOrThrow(), context));
    }

    @Override
    public NDArray forward(NDArray x, ForwardContext context) {
        Module base = child("base_layer");
        NDArray result = base.forward(x, context);
        if (disabled || isMerged() || activeAdapter == null) {
            return result;
        }
        AdapterSpec spec = specs.get(activeAdapter);
        Linear a = (Linear) child("lora_A").child(activeAdapter);
        Linear b = (Linear) child("lora_B").child(activeAdapter);
        Dropout dropout = (Dropout) child("lora_dropout").child(activeAdapter);
        NDArray scaling = context.scalar((float) spec.scaling());
        if (!spec.dora()) {
            // x [..., in] -> A [..., r] -> B [..., out]; results attach to x's (per-call) manager.
            NDArray lora = b.forward(a.forward(dropout.forward(x, context), context), context);
            return result.add(spec.scaling() == 1.0 ? lora : lora.mul(scaling)); // alpha = r: skip a [B, S, out] multiply
        }
        return result.add(doraDelta(x, result, spec, a, b, dropout, context));
    }

    /**
     * PEFT's {@code DoraLinearLayer.forward}: {@code (m / ||W + s BA|| - 1) * base(x) + m / ||W + s BA|| * B(A(x)) * s},
     * the norm detached. Every intermediate is created from a per-call array first, so nothing attaches to
     * the model's manager.
     */
    private NDArray doraDelta(NDArray x, NDArray result, AdapterSpec spec, Linear a, Linear b, Dropout dropout, ForwardContext ctx) {
        Linear base = baseLayer();
        NDArray scaling = ctx.scalar((float) spec.scaling());
        // lora_weight [out, in] computed as PEFT does: B(A(I)).T, detached (it only enters the detached norm).
        NDArray eye = ctx.manager().eye((int) base.inFeatures(), (int) base.inFeatures(), 0, DataType.FLOAT32);
        NDArray loraWeight = b.forward(a.forward(eye, ctx), ctx).transpose().stopGradient();
        NDArray weightNorm;
        if (base.fanInFanOut()) {
            // weight stored [in, out]: norm over the input dim 0
            weightNorm = loraWeight.transpose().mul(scaling).add(base.weight()).norm(new int[] {0}).stopGradient();
        } else {
            weightNorm = loraWeight.mul(scaling).add(base.weight()).norm(new int[] {1}).stopGradient();
        }
        NDArray magnitude = child("lora_magnitude_vector").child(activeAdapter).parameter("weight").value();
        NDArray magNormScale = ctx.scalar(1f).div(weightNorm).mul(magnitude); // [out]
        NDArray baseResult;
        if (!ctx.training() || dropout.rate() == 0f) {
            baseResult = base.hasBias() ? result.sub(base.parameter("bias").value()) : result;
        } else {
            x = dropout.forward(x, ctx);
            baseResult = base.fanInFanOut() ? x.matMul(base.weight()) : ai.djl.nn.core.Linear.linear(x, base.weight(), null).singletonOrThrow();
        }
        NDArray loraResult = b.forward(a.forward(x, ctx), ctx);
        return baseResult.mul(magNormScale.sub(ctx.scalar(1f))).add(loraResult.mul(magNormScale).mul(scaling));
    }

    // ---- merging -------------------------------------------------------------------------------

    /**
     * PEFT's {@code get_delta_weight}: {@code transpose(B @ A, fan_in_fan_out) * scaling}, in the base
     * weight's storage layout, detached, owned by the base weight's manager.
     */
    public NDArray deltaWeight(String adapter) {
        AdapterSpec spec = spec(adapter);
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray a = loraA(adapter).weight().stopGradient();
            NDArray b = loraB(adapter).weight().stopGradient();
            NDArray ba = b.matMul(a); // [out, in]
            if (baseLayer().fanInFanOut()) {
                ba = ba.transpose();
            }
            NDArray delta = ba.mul(constant(ba.getManager(), spec.scaling()));
            NDScope.unregister(delta);
            return delta;
        }
    }

    /**
     * ||W + delta|| per output feature, [out], detached; {@code delta} in storage layout (null = B @ A * scaling
     * of {@code adapter}).
     */
    private NDArray weightNorm(String adapter, NDArray delta) {
        Linear base = baseLayer();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray d = delta != null ? delta : deltaWeight(adapter);
            NDArray w = base.weight().stopGradient().add(d);
            NDArray norm = w.norm(new int[] {base.fanInFanOut() ? 0 : 1});
            NDScope.unregister(norm);
            if (delta == null) {
                d.close();
            }
            return norm;
        }
    }

    /** Folds {@code adapter} into the base weight in place (PEFT {@code merge}, DoRA included). */
    void merge(String adapter) {
        AdapterSpec spec = spec(adapter);
        if (mergedAdapters.contains(adapter)) {
            return;
        }
        Linear base = baseLayer();
        Parameter weight = base.parameter("weight");
        NDArray delta = deltaWeight(adapter);
        NDArray merged;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            if (!spec.dora()) {
                merged = weight.value().stopGradient().add(delta);
            } else {
                // The norm must come from the unmerged weight, as forward computes it; kept to unmerge.
                NDArray norm = weightNorm(adapter, delta);
                NDArray factor = magnitude(adapter).value().stopGradient().div(norm); // [out]
                NDArray column = base.fanInFanOut() ? factor.reshape(1, -1) : factor.reshape(-1, 1);
                merged = weight.value().stopGradient().add(delta).mul(column);
                NDScope.unregister(norm);
                doraMergeNorms.put(adapter, norm);
            }
            NDScope.unregister(merged);
        } finally {
            delta.close();
        }
        weight.setValue(merged);
        mergedAdapters.push(adapter);
    }

    /** Undoes every merge, last merged first (PEFT {@code unmerge}). */
    void unmerge() {
        while (!mergedAdapters.isEmpty()) {
            String adapter = mergedAdapters.pop();
            AdapterSpec spec = spec(adapter);
            Parameter weight = baseLayer().parameter("weight");
            NDArray delta = deltaWeight(adapter);
            NDArray restored;
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                if (!spec.dora()) {
                    restored = weight.value().stopGradient().sub(delta);
                } else {
                    NDArray norm = doraMergeNorms.remove(adapter);
                    NDArray factor = magnitude(adapter).value().stopGradient().div(norm);
                    NDArray column = baseLayer().fanInFanOut() ? factor.reshape(1, -1) : factor.reshape(-1, 1);
                    restored = weight.value().stopGradient().div(column).sub(delta);
                    norm.close();
                }
                NDScope.unregister(restored);
            } finally {
                delta.close();
            }
            weight.setValue(restored);
        }
    }

    /** Detached 0-d constant in {@code manager}: maintenance math (merge) is never differentiated. */
    private static NDArray constant(NDManager manager, double value) {
        return manager.full(new Shape(), (float) value, DataType.FLOAT32);
    }

    @Override
    protected String extraDescription() {
        StringBuilder sb = new StringBuilder();
        specs.forEach((name, s) -> sb.append(' ').append(name).append("(r=").append(s.r()).append(" alpha=").append(s.alpha())
                .append(s.dora() ? " dora" : "").append(')'));
        if (activeAdapter != null) {
            sb.append(" active=").append(activeAdapter);
        }
        if (isMerged()) {
            sb.append(" merged=").append(mergedAdapters);
        }
        return sb.toString();
    }
}
