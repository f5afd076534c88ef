/**
 * The Llama family of decoders ({@code model_type} llama: Llama 2/3, TinyLlama, SmolLM-style
 * configs) with HuggingFace's module names: RMSNorm, rotary position embeddings in HF's
 * {@code rotate_half} convention, grouped-query attention, SwiGLU MLP, tied or untied {@code lm_head}.
 */
package dev.peft4j.models.llama;
