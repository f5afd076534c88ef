/**
 * {@code method = ia3}: HF PEFT's IA3 (Liu et al. 2022, "(IA)^3"), learned rescaling vectors on keys, values
 * and feed-forward inputs. PEFT's roles: {@link dev.peft4j.adapters.ia3.Ia3Config} (config),
 * {@link dev.peft4j.adapters.ia3.Ia3Linear} (layer), {@link dev.peft4j.adapters.ia3.Ia3Model} (model),
 * {@link dev.peft4j.adapters.ia3.Ia3Method} (the registered factory) and
 * {@link dev.peft4j.adapters.ia3.PeftIa3Files} (PEFT's {@code IA3} files, both ways).
 */
package dev.peft4j.adapters.ia3;
