package dev.peft4j.models.generation;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import java.util.ArrayList;
import java.util.List;

/**
 * Keys and values of the tokens already seen, one pair per attention layer, each
 * {@code [batch, kvHeads, past, headDim]} (keys after rotary embedding where the model has one).
 *
 * <p>A decoder's forward pass looks the cache up under {@link #KEY} in its
 * {@link ForwardContext}; when it is there, the model reads {@link #length()} once before the first
 * layer (the number of cached positions), and every attention layer {@link #append appends} its new
 * keys/values and attends over the whole cached sequence. Without the attribute the model
 * computes the full sequence and caches nothing.
 *
 * <p>Inference only: cached tensors are stored detached from any step's manager (they live in the
 * cache's own manager), so they must not be part of a graph that is differentiated.
 */
public final class KvCache implements AutoCloseable {
    /** The context attribute under which decoders find the cache. */
    public static final ForwardContext.Key<KvCache> KEY = new ForwardContext.Key<>("peft4j.kv_cache", KvCache.class);

    private final NDManager manager;
    private final List<NDArray> keys = new ArrayList<>();
    private final List<NDArray> values = new ArrayList<>();

    /** @param parent the cache creates its own sub-manager of this one, freed by {@link #close()} */
    public KvCache(NDManager parent) {
        this.manager = requireNonNull(parent, "parent is null").newSubManager();
    }

    /** Number of cached positions (0 before the first forward pass). */
    public long length() {
        return keys.isEmpty() || keys.get(0) == null ? 0 : keys.get(0).getShape().get(2);
    }

    /**
     * Appends one layer's new keys and values {@code [B, kvHeads, T, headDim]} and returns the
     * full cached keys and values {@code [B, kvHeads, past + T, headDim]}.
     */
    public NDArray[] append(int layer, NDArray key, NDArray value) {
        requireNonNull(key, "key is null");
        requireNonNull(value, "value is null");
        while (keys.size() <= layer) {
            keys.add(null);
            values.add(null);
        }
        NDArray pastKey = keys.get(layer);
        NDArray pastValue = values.get(layer);
        NDArray fullKey;
        NDArray fullValue;
        if (pastKey == null) {
            fullKey = key;
            fullValue = value;
        } else {
            if (pastKey.getShape().get(0) != key.getShape().get(0)) {
                throw new Peft4jException("KV cache of layer " + layer + " holds batch " + pastKey.getShape().get(0)
                        + " but the new keys have batch " + key.getShape().get(0));
            }
            // Concatenate along the sequence axis; the result is re-homed in the cache's manager.
            fullKey = pastKey.concat(key, 2);
            fullValue = pastValue.concat(value, 2);
            pastKey.close();
            pastValue.close();
        }
        fullKey.attach(manager);
        fullValue.attach(manager);
        keys.set(layer, fullKey);
        values.set(layer, fullValue);
        return new NDArray[] {fullKey, fullValue};
    }

    /** Layer {@code layer}'s cached keys {@code [B, kvHeads, length, headDim]} (owned by the cache). */
    public NDArray keys(int layer) {
        return keys.get(layer);
    }

    /** Layer {@code layer}'s cached values (owned by the cache). */
    public NDArray values(int layer) {
        return values.get(layer);
    }

    /** Frees every cached tensor; the cache is empty afterwards and can be used again. */
    public void clear() {
        keys.forEach(a -> {
            if (a != null) {
                a.close();
            }
        });
        values.forEach(a -> {
            if (a != null) {
                a.close();
            }
        });
        keys.clear();
        values.clear();
    }

    @Override
    public void close() {
        clear();
        manager.close();
    }
}
