package dev.peft4j.models.generation;

import dev.peft4j.api.Peft4jException;
import java.util.Set;

/**
 * How {@link Generator} picks tokens. Greedy when {@code temperature} is 0; otherwise samples from
 * {@code softmax(logits / temperature)} restricted to the {@code topK} most likely tokens (0: all)
 * and to the smallest set whose probability reaches {@code topP} (1: all), with a seeded RNG.
 * Generation stops after {@code maxNewTokens}, at a token of {@code stopTokenIds} (which is kept
 * in the output), or at the model's context window.
 *
 * @param useCache reuse keys/values of earlier positions ({@link KvCache}); false recomputes the
 *     whole sequence each step (same tokens, slower; for checking the cache)
 */
public record GenerationConfig(int maxNewTokens, float temperature, int topK, float topP, long seed, Set<Long> stopTokenIds,
        boolean useCache) {

    public GenerationConfig {
        if (maxNewTokens <= 0) {
            throw new Peft4jException("max_new_tokens is " + maxNewTokens + ", expected a positive number");
        }
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new Peft4jException("temperature is " + temperature + ", expected 0 (greedy) or a positive number");
        }
        if (topK < 0) {
            throw new Peft4jException("top_k is " + topK + ", expected 0 (no limit) or a positive number");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new Peft4jException("top_p is " + topP + ", expected a number in (0, 1]");
        }
        stopTokenIds = stopTokenIds == null ? Set.of() : Set.copyOf(stopTokenIds);
    }

    /** Greedy decoding of up to {@code maxNewTokens} tokens, with the cache, no stop tokens. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, 0f, 0, 1f, 0L, Set.of(), true);
    }

    public boolean isGreedy() {
        return temperature == 0f;
    }

    public GenerationConfig withSampling(float newTemperature, int newTopK, float newTopP, long newSeed) {
        return new GenerationConfig(maxNewTokens, newTemperature, newTopK, newTopP, newSeed, stopTokenIds, useCache);
    }

    public GenerationConfig withStopTokenIds(Set<Long> ids) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, ids, useCache);
    }

    public GenerationConfig withCache(boolean cache) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, stopTokenIds, cache);
    }
}
