package dev.peft4j.adapters.bottleneck;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * A BERT residual output ({@code LayerNorm(dropout(dense(x)) + input)}) with a bottleneck adapter, as AdapterHub's
 * {@code bottleneck_layer_forward} runs one: children {@code dense}, {@code dropout}, {@code LayerNorm} (the original
 * modules, same names) and {@code adapters.<name>} with {@code adapter_down.0} ({@code [r, H]} + bias) and
 * {@code adapter_up} ({@code [H, r]} + bias), AdapterHub's parameter names.
 *
 * <p>With {@code h = dropout(dense(x))}: the adapter input is {@code LayerNorm(h + input)} when {@code lnBefore}
 * (Pfeiffer's {@code original_ln_before}) else {@code h}; the residual is {@code h} ({@code residual_before_ln}) or
 * the adapter input; {@code out = up(act(down(adapterInput))) + residual}; the result {@code LayerNorm(out + input)}
 * ({@code original_ln_after}). With the up-projection zero, that is the original output.
 */
public final class BottleneckLayer extends Module {
    /** The adapter itself: {@code adapter_down.0} and {@code adapter_up}. */
    static final class Adapter extends Module {
        Adapter(Linear down, Linear up) {
            super(ModuleType.ADAPTER);
            addChild("adapter_down", new Sequential(down));
            addChild("adapter_up", up);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            throw new UnsupportedOperationException("run by BottleneckLayer");
        }
    }

    /** AdapterHub's {@code adapter_down = nn.Sequential(Linear, activation)}: the Linear is child {@code 0}. */
    static final class Sequential extends Module {
        Sequential(Linear linear) {
            super(ModuleType.CONTAINER);
            addChild("0", linear);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            return child("0").forward(inputs, context);
        }
    }

    /** A container for the named adapters ({@code adapters.<name>}). */
    static final class Adapters extends Module {
        Adapters(String name, Adapter adapter) {
            super(ModuleType.CONTAINER);
            addChild(name, adapter);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            throw new UnsupportedOperationException("run by BottleneckLayer");
        }
    }

    private final Module original;
    private final String adapterName;
    private final boolean lnBefore;
    private final boolean residualBeforeLn;
    private final String nonLinearity;

    BottleneckLayer(Module original, String adapterName, Linear down, Linear up, boolean lnBefore, boolean residualBeforeLn, String nonLinearity) {
        super(ModuleType.of("bottleneck_output"));
        this.original = requireNonNull(original, "original is null");
        this.adapterName = adapterName;
        this.lnBefore = lnBefore;
        this.residualBeforeLn = residualBeforeLn;
        this.nonLinearity = nonLinearity;
        original.children().forEach(this::addChild);
        addChild("adapters", new Adapters(adapterName, new Adapter(down, up)));
    }

    /** The module this one replaced (its children are shared with this one). */
    Module original() {
        return original;
    }

    Module adapter() {
        return child("adapters").child(adapterName);
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        NDArray input = inputs.get(1);
        NDArray h = child("dropout").forward(child("dense").forward(inputs.get(0), context), context);
        Module norm = child("LayerNorm");
        NDArray adapterInput = lnBefore ? norm.forward(h.add(input), context) : h;
        NDArray residual = residualBeforeLn ? h : adapterInput;
        Module adapter = adapter();
        NDArray down = activation(adapter.child("adapter_down").child("0").forward(adapterInput, context));
        NDArray out = adapter.child("adapter_up").forward(down, context).add(residual);
        return new NDList(norm.forward(out.add(input), context));
    }

    private NDArray activation(NDArray x) {
        return switch (nonLinearity) {
            case "relu" -> Activation.relu(x);
            case "swish", "silu" -> x.mul(Activation.sigmoid(x));
            case "gelu" -> Activation.gelu(x);
            case "tanh" -> Activation.tanh(x);
            default -> throw new IllegalStateException("non-linearity " + nonLinearity);
        };
    }

    @Override
    protected String extraDescription() {
        return " adapter=" + adapterName + " " + nonLinearity + (lnBefore ? " ln_before" : "");
    }
}
