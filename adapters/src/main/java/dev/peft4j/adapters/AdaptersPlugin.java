package dev.peft4j.adapters;

import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.SpiVersion;
import dev.peft4j.adapters.bottleneck.BottleneckMethod;
import dev.peft4j.adapters.ia3.Ia3Method;
import dev.peft4j.adapters.lntuning.LayerNormTuningMethod;
import dev.peft4j.adapters.prompt.PrefixTuningMethod;
import dev.peft4j.adapters.prompt.PromptTuningMethod;
import java.util.List;

/** The built-in plugin of the adapters module, registered through {@code META-INF/services} like any other. */
public final class AdaptersPlugin implements Peft4jPlugin {
    @Override
    public int spiVersion() {
        return SpiVersion.CURRENT;
    }

    @Override
    public String name() {
        return "peft4j-adapters";
    }

    @Override
    public List<AdapterMethodFactory<?>> adapterMethods() {
        return List.of(new FullFineTuningMethod(), new BitFitMethod(), new PrefixTuningMethod(), new PromptTuningMethod(),
                new Ia3Method(), new LayerNormTuningMethod(),
                new BottleneckMethod());
    }
}
