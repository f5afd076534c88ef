package dev.peft4j.api.model;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.nn.ForwardContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Collects every attention layer's probabilities ({@code softmax(q k^T / sqrt(d) + mask)}, before
 * attention dropout, {@code [batch, heads, queries, keys]}) in the order the layers run, when set on a
 * {@link ForwardContext} under {@link #KEY}: HF's {@code output_attentions}. The built-in BERT, Llama
 * and GPT-2 attention record into it; the arrays live in the forward's manager and stay in its graph.
 */
public final class AttentionCapture {
    public static final ForwardContext.Key<AttentionCapture> KEY = new ForwardContext.Key<>("peft4j.attention_capture", AttentionCapture.class);

    private final List<NDArray> maps = new ArrayList<>();

    public void add(NDArray probabilities) {
        maps.add(probabilities);
    }

    /** By layer, first layer first. */
    public List<NDArray> maps() {
        return Collections.unmodifiableList(maps);
    }
}
