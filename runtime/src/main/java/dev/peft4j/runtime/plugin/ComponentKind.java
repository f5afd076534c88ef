package dev.peft4j.runtime.plugin;

import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.ComponentFactory;
import dev.peft4j.api.spi.DatasetReaderFactory;
import dev.peft4j.api.spi.ObjectiveFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.TaskHeadFactory;
import java.util.List;
import java.util.function.Function;

/** The kinds of factory a plugin registers, with the config path of their defaults. */
public enum ComponentKind {
    ADAPTER_METHOD("adapter method", "peft4j.methods", AdapterMethodFactory.class, Peft4jPlugin::adapterMethods),
    TASK_HEAD("task head", "peft4j.heads", TaskHeadFactory.class, Peft4jPlugin::taskHeads),
    OBJECTIVE("objective", "peft4j.objectives", ObjectiveFactory.class, Peft4jPlugin::objectives),
    DATASET_READER("dataset reader", "peft4j.datasets", DatasetReaderFactory.class, Peft4jPlugin::datasetReaders),
    RUN_LISTENER("run listener", "peft4j.tracking", dev.peft4j.api.spi.RunListenerFactory.class, Peft4jPlugin::runListeners);

    private final String label;
    private final String defaultsPath;
    private final Class<?> factoryType;
    private final Function<Peft4jPlugin, List<? extends ComponentFactory<?>>> lister;

    ComponentKind(String label, String defaultsPath, Class<?> factoryType, Function<Peft4jPlugin, List<? extends ComponentFactory<?>>> lister) {
        this.label = label;
        this.defaultsPath = defaultsPath;
        this.factoryType = factoryType;
        this.lister = lister;
    }

    /** For messages: "adapter method". */
    public String label() {
        return label;
    }

    /** Where a factory's defaults live: {@code peft4j.methods}, then {@code .<name>}. */
    public String defaultsPath() {
        return defaultsPath;
    }

    public String defaultsPath(String name) {
        return defaultsPath + "." + com.typesafe.config.ConfigUtil.joinPath(name);
    }

    Class<?> factoryType() {
        return factoryType;
    }

    List<? extends ComponentFactory<?>> factoriesOf(Peft4jPlugin plugin) {
        return lister.apply(plugin);
    }
}
