/**
 * {@code method = layernorm-tuning}: HF PEFT's {@code LN_TUNING} (Zhao et al. 2023, "Tuning LayerNorm in
 * Attention"): only the weights and biases of the targeted LayerNorm/RMSNorm modules train, saved in PEFT's
 * format. Roles: {@link dev.peft4j.adapters.lntuning.LayerNormTuningConfig} (config),
 * {@link dev.peft4j.adapters.lntuning.LayerNormTuningModel} (model; there is no layer role: the norms train in
 * place rather than as PEFT's copies, so nothing is added to the forward pass) and
 * {@link dev.peft4j.adapters.lntuning.LayerNormTuningMethod} (the registered factory).
 */
package dev.peft4j.adapters.lntuning;
