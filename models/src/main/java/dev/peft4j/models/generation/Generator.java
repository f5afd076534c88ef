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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Autoregressive generation for a causal LM ({@link TransformerModel#isCausalLm()}), for one
 * sequence or a left-padded batch. With the cache, the prompt is run once and each later step feeds only the newest
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
        return generate(List.of(prompt), config).get(0);
    }

    /**
     * Generates after each prompt, as one left-padded batch: row {@code b} sees only its own tokens
     * (attention mask) at positions {@code 0, 1, ...} counted from its first real token (what HF's
     * {@code generate} does), so every row gets what it would get alone. A row that produced a stop
     * token is finished (later tokens are computed but dropped); the batch stops when every row is
     * finished, after {@code maxNewTokens}, or when the longest row reaches the context window.
     * Sampling draws from one RNG seeded with {@code config.seed()}, row by row.
     */
    public List<GenerationResult> generate(List<long[]> prompts, GenerationConfig config) {
        requireNonNull(prompts, "prompts is null");
        requireNonNull(config, "config is null");
        if (prompts.isEmpty()) {
            throw new Peft4jException("no prompts to generate from");
        }
        int batch = prompts.size();
        int longest = 0;
        for (int b = 0; b < batch; b++) {
            long[] prompt = requireNonNull(prompts.get(b), "prompt is null");
            String which = batch == 1 ? "" : b + " ";
            if (prompt.length == 0) {
                throw new Peft4jException("prompt " + which + "is empty; pass at least one token id (e.g. BOS)");
            }
            if (prompt.length >= contextWindow) {
                throw new Peft4jException("prompt " + which + "has " + prompt.length + " tokens but the context window is "
                        + contextWindow + " positions; it must be shorter to generate anything");
            }
            longest = Math.max(longest, prompt.length);
        }
        // Left-padded token and mask rows [B, longest + maxNewTokens]; pad id 0, masked out.
        int width = longest + config.maxNewTokens();
        long[][] tokens = new long[batch][width];
        long[][] mask = new long[batch][width];
        int[] padding = new int[batch];
        for (int b = 0; b < batch; b++) {
            long[] prompt = prompts.get(b);
            padding[b] = longest - prompt.length;
            System.arraycopy(prompt, 0, tokens[b], padding[b], prompt.length);
            Arrays.fill(mask[b], padding[b], width, 1L);
        }
        int[] produced = new int[batch];
        GenerationResult.FinishReason[] reasons = new GenerationResult.FinishReason[batch];
        SplittableRandom random = new SplittableRandom(config.seed());
        int length = longest;
        int cached = 0;
        long start = System.nanoTime();
        try (NDManager manager = model.manager().newSubManager(); KvCache cache = new KvCache(manager)) {
            while (length - longest < config.maxNewTokens() && !allFinished(reasons) && length < contextWindow) {
                int from = config.useCache() ? cached : 0;
                int feed = length - from;
                float[][] rows = new float[batch][];
                try (NDManager step = manager.newSubManager()) {
                    ForwardContext context = ForwardContext.inference(step);
                    if (config.useCache()) {
                        context.setAttribute(KvCache.KEY, cache);
                    }
                    long[] ids = new long[batch * feed];
                    long[] positions = new long[batch * feed];
                    long[] attention = new long[batch * length];
                    for (int b = 0; b < batch; b++) {
                        for (int j = 0; j < feed; j++) {
                            ids[b * feed + j] = tokens[b][from + j];
                            positions[b * feed + j] = Math.max(0, from + j - padding[b]);
                        }
                        System.arraycopy(mask[b], 0, attention, b * length, length);
                    }
                    NDArray logits = model.forward(new ModelInput(step.create(ids, new Shape(batch, feed)),
                            step.create(attention, new Shape(batch, length)), null, step.create(positions, new Shape(batch, feed))),
                            context).logits();
                    NDArray last = logits.get(":, -1, :").toType(DataType.FLOAT32, false); // [B, V]
                    float[] flat = last.toFloatArray();
                    int vocab = (int) last.getShape().get(1);
                    for (int b = 0; b < batch; b++) {
                        rows[b] = Arrays.copyOfRange(flat, b * vocab, (b + 1) * vocab);
                    }
                }
                cached = length;
                for (int b = 0; b < batch; b++) {
                    long next = config.isGreedy() ? argMax(rows[b]) : Sampling.sample(rows[b], config, random);
                    tokens[b][length] = next;
                    if (reasons[b] == null) {
                        produced[b]++;
                        if (config.stopTokenIds().contains(next)) {
                            reasons[b] = GenerationResult.FinishReason.STOP_TOKEN;
                        }
                    }
                }
                length++;
            }
        }
        long nanos = System.nanoTime() - start;
        List<GenerationResult> results = new ArrayList<>(batch);
        for (int b = 0; b < batch; b++) {
            GenerationResult.FinishReason reason = reasons[b] != null ? reasons[b]
                    : produced[b] >= config.maxNewTokens() ? GenerationResult.FinishReason.LENGTH
                    : GenerationResult.FinishReason.CONTEXT_WINDOW;
            results.add(new GenerationResult(Arrays.copyOfRange(tokens[b], longest, longest + produced[b]), reason, nanos));
        }
        return results;
    }

    private static boolean allFinished(GenerationResult.FinishReason[] reasons) {
        for (GenerationResult.FinishReason r : reasons) {
            if (r == null) {
                return false;
            }
        }
        return true;
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
