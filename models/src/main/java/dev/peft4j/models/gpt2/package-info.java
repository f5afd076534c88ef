/**
 * GPT-2 ({@code model_type} gpt2) with HuggingFace's module names: learned positions, pre-LN blocks,
 * {@code c_attn}/{@code c_proj}/{@code c_fc} stored as Conv1D {@code [in, out]} (a
 * {@link dev.peft4j.api.nn.Linear} with {@code fanInFanOut}), gelu_new, tied {@code lm_head}.
 */
package dev.peft4j.models.gpt2;
