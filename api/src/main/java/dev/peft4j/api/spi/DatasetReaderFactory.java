package dev.peft4j.api.spi;

/**
 * An input format (TSV, JSONL, CoNLL, WordNet, ...).
 *
 * @param <C> the reader's validated config (field names, label column, ...)
 */
public interface DatasetReaderFactory<C> extends ComponentFactory<C> {
    DatasetReader create(C config, PluginContext context);
}
