/**
 * Knowledge-distillation objectives: soft-target KL on the head's logits ({@code soft-target-kl}),
 * hidden-state matching with a layer map and a learned projection ({@code hidden-state}) and token-level
 * KL for causal LMs ({@code token-kl}). The math is in {@link dev.peft4j.distillation.DistillationLosses},
 * checked against PyTorch's {@code kl_div}, {@code mse_loss} and {@code cosine_embedding_loss}.
 */
package dev.peft4j.distillation;
