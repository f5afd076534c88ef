package dev.peft4j.api.spi;

import dev.peft4j.api.model.TransformerModel;

/**
 * A task head (sequence classification, token classification, causal LM, QA, ...).
 *
 * @param <C> the head's validated config
 */
public interface TaskHeadFactory<C> extends ComponentFactory<C> {
    TaskHead create(TransformerModel backbone, C config, PluginContext context);
}
