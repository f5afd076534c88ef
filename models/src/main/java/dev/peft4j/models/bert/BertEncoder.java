package dev.peft4j.models.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * HF {@code BertEncoder}: child {@code layer}, a list whose children are {@code 0..N-1}
 * ({@link BertLayer}). Inputs {@code hidden [B, S, H]}, additive mask {@code [B, 1, 1, S]}; output:
 * every layer's output in order (the last one is the encoder's result). Returning them all costs
 * nothing extra: DJL keeps intermediate arrays alive until the call's manager closes anyway.
 */
public final class BertEncoder extends Module {
    private final int numLayers;

    public BertEncoder(BertConfig config, NDManager manager) {
        super(ModuleType.ENCODER);
        this.numLayers = config.numHiddenLayers();
        LayerList layers = addChild("layer", new LayerList());
        for (int i = 0; i < numLayers; i++) {
            layers.add(Integer.toString(i), new BertLayer(config, i, manager));
        }
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        Module layers = child("layer");
        NDArray hidden = inputs.get(0);
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null; // absent: no padding
        NDList outputs = new NDList(numLayers);
        for (int i = 0; i < numLayers; i++) {
            NDList layerInputs = mask == null ? new NDList(hidden) : new NDList(hidden, mask);
            hidden = layers.child(Integer.toString(i)).forward(layerInputs, context).get(0);
            outputs.add(hidden);
        }
        return outputs;
    }

    /** The numbered container {@code encoder.layer}; it is run by its parent, not on its own. */
    static final class LayerList extends Module {
        LayerList() {
            super(ModuleType.CONTAINER);
        }

        void add(String name, Module layer) {
            addChild(name, layer);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            throw new UnsupportedOperationException("encoder.layer is a list; BertEncoder runs its layers in order");
        }
    }
}
