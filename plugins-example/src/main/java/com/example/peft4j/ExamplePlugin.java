package com.example.peft4j;

import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.SpiVersion;
import dev.peft4j.api.spi.TaskHeadFactory;
import java.util.List;

/** The plugin's aggregator, listed in {@code META-INF/services/dev.peft4j.api.spi.Peft4jPlugin}. */
public final class ExamplePlugin implements Peft4jPlugin {
    /** ServiceLoader needs a public no-argument constructor. */
    public ExamplePlugin() {}

    @Override
    public int spiVersion() {
        return SpiVersion.CURRENT; // a compile-time constant: the version this jar was built against
    }

    @Override
    public String name() {
        return "example-layernorm-tuning";
    }

    @Override
    public List<AdapterMethodFactory<?>> adapterMethods() {
        return List.of(new LayerNormTuningFactory());
    }

    @Override
    public List<TaskHeadFactory<?>> taskHeads() {
        return List.of(new MeanPoolClassifierFactory());
    }
}
