/**
 * LoRA, rsLoRA and DoRA as a peft4j plugin, with HF PEFT's semantics and files: target selection
 * ({@link dev.peft4j.lora.TargetSelector}), the wrapped layer ({@link dev.peft4j.lora.LoraLinear}, PEFT's
 * {@code base_layer}/{@code lora_A}/{@code lora_B} layout), several named adapters on one base with merge,
 * disable and weighted combination ({@link dev.peft4j.lora.LoraModel}), and {@code adapter_config.json} +
 * {@code adapter_model.safetensors} both ways ({@link dev.peft4j.lora.PeftAdapterConfig}).
 */
package dev.peft4j.lora;
