package dev.peft4j.models.generation;

/**
 * What {@link Generator#generate} produced.
 *
 * @param tokens the new token ids (the prompt excluded; a stop token that ended generation included)
 * @param finishReason why it stopped
 * @param nanos wall time of the generation loop
 */
public record GenerationResult(long[] tokens, FinishReason finishReason, long nanos) {
    /** Why generation stopped. */
    public enum FinishReason {
        /** {@code maxNewTokens} tokens were generated. */
        LENGTH,
        /** A token of {@code stopTokenIds} was generated. */
        STOP_TOKEN,
        /** The sequence reached the model's context window. */
        CONTEXT_WINDOW
    }

    public double tokensPerSecond() {
        return nanos == 0 ? 0 : tokens.length / (nanos / 1e9);
    }
}
