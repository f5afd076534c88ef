package dev.peft4j.api.spi;

import java.util.List;

/**
 * A plugin: the aggregator of its factories. Extension points are default methods returning empty
 * lists, so adding one never breaks an existing plugin.
 */
public interface Peft4jPlugin {
    /** Implement as {@code return SpiVersion.CURRENT;} (inlined at the plugin's compile time). */
    int spiVersion();

    /** A short, unique plugin name ({@code peft4j-lora}, {@code acme-ln-tuning}). */
    String name();

    default List<AdapterMethodFactory<?>> adapterMethods() {
        return List.of();
    }

    default List<TaskHeadFactory<?>> taskHeads() {
        return List.of();
    }

    default List<ObjectiveFactory<?>> objectives() {
        return List.of();
    }

    default List<DatasetReaderFactory<?>> datasetReaders() {
        return List.of();
    }

    /** Run listeners (experiment trackers), active when an experiment has a {@code tracking.<name>} section. */
    default List<RunListenerFactory<?>> runListeners() {
        return List.of();
    }
}
