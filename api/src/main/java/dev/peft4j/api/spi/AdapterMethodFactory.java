package dev.peft4j.api.spi;

import dev.peft4j.api.nn.Module;

/**
 * An adapter method (LoRA, prefix tuning, full fine-tuning, ...).
 *
 * @param <C> the method's validated config
 */
public interface AdapterMethodFactory<C> extends ComponentFactory<C> {
    /**
     * Adapts the tree under {@code root} in place (wrapping, replacing, freezing) and reports what it
     * did. {@code root} is the tree being trained: the backbone's module, or a task model whose root
     * holds the backbone under its {@link dev.peft4j.api.model.TransformerModel#baseModelPrefix()}
     * plus head modules. Paths reported and saved are relative to {@code root}. Must either adapt
     * completely or throw without changing anything.
     */
    Adaptation apply(Module root, C config, PluginContext context);
}
