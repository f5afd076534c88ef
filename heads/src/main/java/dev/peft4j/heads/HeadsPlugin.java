package dev.peft4j.heads;

import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.SpiVersion;
import dev.peft4j.api.spi.TaskHeadFactory;
import java.util.List;

/** The built-in task heads, registered through ServiceLoader exactly like a third-party plugin. */
public final class HeadsPlugin implements Peft4jPlugin {
    @Override
    public int spiVersion() {
        return SpiVersion.CURRENT;
    }

    @Override
    public String name() {
        return "peft4j-heads";
    }

    @Override
    public List<TaskHeadFactory<?>> taskHeads() {
        return HeadFactories.all();
    }
}
