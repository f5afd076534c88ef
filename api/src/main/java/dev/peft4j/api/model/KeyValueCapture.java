package dev.peft4j.api.model;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.nn.ForwardContext;
import java.util.Map;
import java.util.TreeMap;

/**
 * Records each attention layer's keys and values for one forward pass, as the layer would cache them
 * ({@code [B, kvHeads, T, headDim]}, Llama's keys after the rotary embedding): the model's attention layers
 * call {@link #record} when this is set on the {@link ForwardContext} under {@link #KEY}. Prefix tuning's
 * {@code init = text} starts the prefix from a text's keys and values this way (Li and Liang's
 * initialisation from real activations). The arrays belong to the pass's manager.
 */
public final class KeyValueCapture {
    public static final ForwardContext.Key<KeyValueCapture> KEY = new ForwardContext.Key<>("peft4j.kv_capture", KeyValueCapture.class);

    private final Map<Integer, NDArray[]> layers = new TreeMap<>();

    public void record(int layer, NDArray key, NDArray value) {
        layers.put(layer, new NDArray[] {key, value});
    }

    /** By layer index: {key, value}. */
    public Map<Integer, NDArray[]> layers() {
        return layers;
    }
}
