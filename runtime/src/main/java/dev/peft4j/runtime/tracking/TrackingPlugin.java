package dev.peft4j.runtime.tracking;

import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.RunListenerFactory;
import dev.peft4j.api.spi.SpiVersion;
import java.util.List;

/** The built-in run listeners ({@code mlflow}), registered through ServiceLoader like a third-party plugin. */
public final class TrackingPlugin implements Peft4jPlugin {
    @Override
    public int spiVersion() {
        return SpiVersion.CURRENT;
    }

    @Override
    public String name() {
        return "peft4j-tracking";
    }

    @Override
    public List<RunListenerFactory<?>> runListeners() {
        return List.of(new MlflowListenerFactory());
    }
}
