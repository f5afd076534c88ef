package dev.peft4j.api.model;

import dev.peft4j.api.nn.ForwardContext;

/**
 * Runs at the start of every {@link TransformerModel#forward} (training, evaluation, generation), before
 * the model reads its context: a prompt-learning method computes its {@link VirtualTokens} from its
 * trainable modules in the pass's manager and sets them on the context. Registered with
 * {@link TransformerModel#forwardHooks()}.
 */
@FunctionalInterface
public interface ForwardHook {
    void beforeForward(ModelInput input, ForwardContext context);
}
