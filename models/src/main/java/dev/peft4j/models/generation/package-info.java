/**
 * What every decoder-only language model shares: the key/value cache passed through the
 * {@link dev.peft4j.api.nn.ForwardContext}, causal masked attention, the tied language-model head,
 * the causal-LM loss, and token generation (greedy, temperature, top-k, top-p).
 */
package dev.peft4j.models.generation;
