package dev.peft4j.api.spi;

/**
 * The SPI's version. A plugin returns {@link #CURRENT} from {@link Peft4jPlugin#spiVersion()}; the
 * constant is inlined when the plugin is compiled, so the host sees the version the plugin was built
 * against and refuses a plugin whose major version differs from its own.
 */
public final class SpiVersion {
    /** Bumped on any incompatible change to this package or the types it exposes. */
    public static final int CURRENT = 2; // 2: PluginContext.model() returns Optional

    private SpiVersion() {}

    public static boolean isCompatible(int pluginVersion) {
        return pluginVersion == CURRENT;
    }
}
