package dev.peft4j.runtime.config;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.DatasetReader;
import dev.peft4j.api.spi.DatasetReaderFactory;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.spi.ObjectiveFactory;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TaskHeadFactory;
import dev.peft4j.runtime.plugin.ComponentKind;
import dev.peft4j.runtime.plugin.PluginRegistry;

/**
 * A component section of a validated experiment: which factory its selector named, and the config
 * its {@code parseConfig} returned. The {@code create}/{@code apply} helpers pass that config back
 * to the same factory, which is where the generic types line up.
 *
 * @param path the section's path ({@code method}, {@code head}, {@code objectives[0]}, {@code data.train}, {@code tracking.mlflow})
 * @param registration the factory and its plugin
 * @param config what the factory's {@code parseConfig} returned
 * @param section the section given to {@code parseConfig} (user keys over the factory's defaults)
 */
public record ConfiguredComponent(String path, PluginRegistry.Registration<?> registration, Object config, Config section) {
    public ConfiguredComponent {
        requireNonNull(path, "path is null");
        requireNonNull(registration, "registration is null");
        requireNonNull(config, "config is null");
        requireNonNull(section, "section is null");
    }

    public String name() {
        return registration.name();
    }

    public ComponentKind kind() {
        return registration.kind();
    }

    @SuppressWarnings("unchecked")
    public Adaptation applyMethod(Module root, PluginContext context) {
        AdapterMethodFactory<Object> f = (AdapterMethodFactory<Object>) factory(ComponentKind.ADAPTER_METHOD);
        return inPlugin(() -> f.apply(root, config, context));
    }

    @SuppressWarnings("unchecked")
    public TaskHead createHead(TransformerModel backbone, PluginContext context) {
        TaskHeadFactory<Object> f = (TaskHeadFactory<Object>) factory(ComponentKind.TASK_HEAD);
        return inPlugin(() -> f.create(backbone, config, context));
    }

    @SuppressWarnings("unchecked")
    public Objective createObjective(PluginContext context) {
        ObjectiveFactory<Object> f = (ObjectiveFactory<Object>) factory(ComponentKind.OBJECTIVE);
        return inPlugin(() -> f.create(config, context));
    }

    @SuppressWarnings("unchecked")
    public DatasetReader createDatasetReader(PluginContext context) {
        DatasetReaderFactory<Object> f = (DatasetReaderFactory<Object>) factory(ComponentKind.DATASET_READER);
        return inPlugin(() -> f.create(config, context));
    }

    @SuppressWarnings("unchecked")
    public dev.peft4j.api.spi.RunListener createRunListener(PluginContext context) {
        dev.peft4j.api.spi.RunListenerFactory<Object> f = (dev.peft4j.api.spi.RunListenerFactory<Object>) factory(ComponentKind.RUN_LISTENER);
        return inPlugin(() -> f.create(config, context));
    }

    /** Plugin code runs with the plugin's class loader as the context loader. */
    private <T> T inPlugin(java.util.function.Supplier<T> action) {
        return dev.peft4j.runtime.plugin.PluginClassLoader.withContextLoader(registration.plugin().classLoader(), action);
    }

    private Object factory(ComponentKind expected) {
        if (registration.kind() != expected) {
            throw new IllegalStateException(path + " is a " + registration.kind().label() + ", not a " + expected.label());
        }
        return registration.factory();
    }
}
