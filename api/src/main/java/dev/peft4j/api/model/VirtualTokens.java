package dev.peft4j.api.model;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.nn.ForwardContext;
import java.util.List;

/**
 * Virtual tokens for one forward pass, the typed hook of PEFT's prompt-learning path: a method's
 * {@link ForwardHook} puts them on the {@link ForwardContext} under {@link #KEY} and the model honours
 * them, as HF models honour what PEFT passes them.
 *
 * <ul>
 *   <li>{@link #inputEmbeddings()} (prompt tuning): {@code [B, P, hidden]} placed before the embedded input
 *       tokens, HF's {@code inputs_embeds = cat(prompts, embed(input_ids))}. The output covers {@code P + T}
 *       positions and {@link ModelOutput#attentionMask()} says which.</li>
 *   <li>{@link #pastKeys()} / {@link #pastValues()} (prefix tuning): one {@code [B, kvHeads, P, headDim]} per
 *       layer, attended before the input's own keys, HF's {@code past_key_values}. Keys are used as stored (no
 *       rotary embedding is applied to them, as with HF's cache). The output covers the {@code T} input positions.</li>
 * </ul>
 * In both cases the model prepends {@code P} ones to the attention mask, and positions follow HF: a model
 * that counts positions from its cache (BERT, Llama, GPT-2 with {@code past_key_values}) starts the input
 * at {@code P} for a prefix; prompt embeddings take positions {@code 0 .. P-1}. With a KV cache in the
 * context the tensors are used on the first pass only (they are in the cache afterwards), but
 * {@link #count()} still extends the mask of every later pass.
 *
 * @param count P, the number of virtual tokens
 * @param inputEmbeddings {@code [B, P, hidden]}, or null
 * @param pastKeys per layer {@code [B, kvHeads, P, headDim]}, or null
 * @param pastValues per layer, as {@code pastKeys}, or null
 */
public record VirtualTokens(int count, NDArray inputEmbeddings, List<NDArray> pastKeys, List<NDArray> pastValues) {
    /** The context attribute models read. */
    public static final ForwardContext.Key<VirtualTokens> KEY = new ForwardContext.Key<>("peft4j.virtual_tokens", VirtualTokens.class);

    public VirtualTokens {
        if (count <= 0) {
            throw new IllegalArgumentException("count must be > 0, got " + count);
        }
        if ((pastKeys == null) != (pastValues == null)) {
            throw new IllegalArgumentException("past keys and values come together");
        }
        if (inputEmbeddings != null && pastKeys != null) {
            throw new IllegalArgumentException("virtual tokens are either input embeddings or past keys/values, not both");
        }
        if (inputEmbeddings == null && pastKeys == null) {
            throw new IllegalArgumentException("virtual tokens need input embeddings or past keys/values");
        }
        if (pastKeys != null) {
            pastKeys = List.copyOf(pastKeys);
            pastValues = List.copyOf(pastValues);
            if (pastKeys.size() != pastValues.size()) {
                throw new IllegalArgumentException(pastKeys.size() + " layers of past keys but " + pastValues.size() + " of values");
            }
        }
    }

    /** Prompt tuning's form. */
    public static VirtualTokens inputEmbeddings(NDArray embeddings) {
        requireNonNull(embeddings, "embeddings is null");
        return new VirtualTokens((int) embeddings.getShape().get(1), embeddings, null, null);
    }

    /** Prefix tuning's form. */
    public static VirtualTokens pastKeyValues(List<NDArray> keys, List<NDArray> values) {
        requireNonNull(keys, "keys is null");
        requireNonNull(values, "values is null");
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("no layers");
        }
        return new VirtualTokens((int) keys.get(0).getShape().get(2), null, keys, values);
    }

    public boolean isPrefix() {
        return pastKeys != null;
    }
}
