/**
 * Prompt learning, HF PEFT's {@code prefix_tuning} and {@code prompt_tuning}: a method adds its encoder to
 * the tree ({@code prompt_encoder.default}, trained and saved like any module) and a
 * {@link dev.peft4j.api.model.ForwardHook} that turns it into {@link dev.peft4j.api.model.VirtualTokens} at
 * every forward pass; the models honour them. Roles as in PEFT: config ({@link PrefixTuningConfig},
 * {@link PromptTuningConfig}), layer ({@link PrefixEncoder}, {@link PromptEmbedding}), model
 * ({@link PromptLearningModel}, the {@link dev.peft4j.api.spi.Adaptation}) and files ({@link PeftPromptFiles}).
 */
package dev.peft4j.adapters.prompt;
