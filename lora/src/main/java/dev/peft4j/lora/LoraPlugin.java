package dev.peft4j.lora;

import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.SpiVersion;
import java.util.List;

/** The built-in LoRA plugin, registered through {@code META-INF/services} like any third-party plugin. */
public final class LoraPlugin implements Peft4jPlugin {
    @Override
    public int spiVersion() {
        return SpiVersion.CURRENT;
    }

    @Override
    public String name() {
        return "peft4j-lora";
    }

    @Override
    public List<AdapterMethodFactory<?>> adapterMethods() {
        return List.of(new LoraMethod());
    }
}
