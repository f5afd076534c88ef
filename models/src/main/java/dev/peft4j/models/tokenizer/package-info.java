/**
 * Tokenizers from an HF {@code tokenizer.json} (explicit truncation, no implicit padding), padded
 * int64 batches for {@link dev.peft4j.api.model.ModelInput}, and sentence-vector pooling.
 */
package dev.peft4j.models.tokenizer;
