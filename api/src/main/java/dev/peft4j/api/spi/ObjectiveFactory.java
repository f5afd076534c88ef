package dev.peft4j.api.spi;

/**
 * A training objective beyond a head's own loss (distillation losses, regularisers).
 *
 * @param <C> the objective's validated config
 */
public interface ObjectiveFactory<C> extends ComponentFactory<C> {
    Objective create(C config, PluginContext context);
}
