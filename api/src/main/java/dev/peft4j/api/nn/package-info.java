/**
 * The module tree: a model as a tree of {@link dev.peft4j.api.nn.Module}s addressed by
 * HuggingFace dotted paths ({@code encoder.layer.3.attention.self.query}), each owning
 * {@link dev.peft4j.api.nn.Parameter}s under HuggingFace names. Adapter methods find modules by
 * path and type, and replace or wrap them ({@link dev.peft4j.api.nn.Module#replace}).
 *
 * <p>Tensor code here follows two rules from measured DJL bugs: arithmetic with a constant inside
 * differentiated code uses {@link dev.peft4j.api.nn.ForwardContext#scalar(float)} (torch-owned),
 * never {@code NDArray.mul(Number)}; and no BFLOAT16 tensor is ever created.
 */
package dev.peft4j.api.nn;
