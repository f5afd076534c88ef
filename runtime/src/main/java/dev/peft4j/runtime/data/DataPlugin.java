package dev.peft4j.runtime.data;

import dev.peft4j.api.spi.DatasetReaderFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.SpiVersion;
import java.util.List;

/**
 * The built-in dataset formats ({@code tsv}, {@code csv}, {@code jsonl}, {@code conll}, {@code wordnet}, and for causal LMs {@code text} and {@code prompt-completion}),
 * registered through ServiceLoader like any third-party plugin. They live in {@code runtime} rather
 * than {@code heads} because they are host services (sources, caching, batching sit beside them) and
 * need no tensors.
 */
public final class DataPlugin implements Peft4jPlugin {
    @Override
    public int spiVersion() {
        return SpiVersion.CURRENT;
    }

    @Override
    public String name() {
        return "peft4j-data";
    }

    @Override
    public List<DatasetReaderFactory<?>> datasetReaders() {
        return BuiltInReaders.all();
    }
}
