package dev.peft4j.models.generation;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Autoregressive generation for a causal LM ({@link TransformerModel#isCausalLm()}), one sequence
 * at a time. With the cache, the prompt is run once and each later step feeds only the newest
 * token; every step runs in its own sub-manager, so memory stays flat over long generations.
 */
public final class Generator {
    private final TransformerModel model;
    private final int contextWindow;

    public Generator(TransformerModel model) {
        this.model = requireNonNull(model, "model is null");
        if (!model.isCausalLm()) {
            throw new Peft4jException("generation needs a causal language model; " + model.config().modelType() + " is not one");
        }
        this.contextWindow = contextWindow(model.config());
    }

    /** The longest sequence the model accepts: {@code max_position_embeddings} or GPT-2's {@code n_positions}. */
    public static int contextWindow(ModelConfig config) {
        if (config.has("max_position_embeddings")) {
            return config.integer("max_position_embeddings");
        }
        if (config.has("n_positions")) {
            return config.integer("n_positions");
        }
        throw new Peft4jException(config.source() + ": no max_position_embeddings or n_positions; cannot bound generation");
    }

    public int contextWindow() {
        return contextWindow;
    }

    /**
     * Generates after {@code prompt} (at least one id, e.g. BOS).
     *
     * @throws Peft4jException when the prompt is empty or does not leave room for one new token in the context window
     */
    public GenerationResult generate(long[] prompt, GenerationConfig config) {
        requireNonNull(prompt, "prompt is null");
        requireNonNull(config, "config is null");
        if (prompt.length == 0) {
            throw new Peft4jException("prompt is empty; pass at least one token id (e.g. BOS)");
        }
        if (prompt.length >= contextWindow) {
            throw new Peft4jException("prompt has " + prompt.length + " tokens but the context window is " + contextWindow
                    + " positions; it must be shorter to generate anything");
        }
        SplittableRandom random = new SplittableRandom(config.seed());
        long[] sequence = Arrays.copyOf(prompt, prompt.length + config.maxNewTokens());
        int length = prompt.length;
        GenerationResult.FinishReason reason = GenerationResult.FinishReason.LENGTH;
        long start = System.nanoTime();
        try (NDManager manager = model.manager().newSubManager(); KvCache cache = new KvCache(manager)) {
            while (length - prompt.length < config.maxNewTokens()) {
                if (length >= contextWindow) {
                    reason = GenerationResult.FinishReason.CONTEXT_WINDOW;
                    break;
                }
                float[] logits;
                try (NDManager step = manager.newSubManager()) {
                    ForwardContext context = ForwardContext.inference(step);
                    int from = 0;
                    if (config.useCache()) {
                        context.setAttribute(KvCache.KEY, cache);
                        from = (int) cache.length();
                    }
                    long[] feed = Arrays.copyOfRange(sequence, from, length);
                    NDArray ids = step.create(feed, new Shape(1, feed.length));
                    NDArray mask = step.ones(new Shape(1, length), DataType.INT64);
                    NDArray all = model.forward(new ModelInput(ids, mask), context).logits();
                    logits = all.get(0, feed.length - 1).toType(DataType.FLOAT32, false).toFloatArray();
                }
                long next = config.isGreedy() ? argMax(logits) : Sampling.sample(logits, config, random);
                sequence[length++] = next;
                if (config.stopTokenIds().contains(next)) {
                    reason = GenerationResult.FinishReason.STOP_TOKEN;
                    break;
                }
            }
        }
        return new GenerationResult(Arrays.copyOfRange(sequence, prompt.length, length), reason, System.nanoTime() - start);
    }

    /** Index of the largest logit; the first on ties, like {@code torch.argmax}. */
    static int argMax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }
}
