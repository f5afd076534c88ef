package dev.peft4j.api.spi;

/**
 * A run listener (experiment tracking). It is active in a run when the experiment has a section for it,
 * {@code tracking.<name> { ... }}, read by {@link #parseConfig} over the defaults under {@code peft4j.tracking.<name>}.
 *
 * @param <C> the listener's validated config
 */
public interface RunListenerFactory<C> extends ComponentFactory<C> {
    RunListener create(C config, PluginContext context);
}
