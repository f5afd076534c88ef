package dev.peft4j.runtime;

import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.runtime.config.ModelSettings;
import java.util.Optional;

/** Loads the experiment's model (and its tokenizer) from {@code model.source}. */
public interface ModelLoader {
    /** A loaded backbone and its tokenizer; closing closes both. */
    record LoadedModel(TransformerModel model, Optional<TextTokenizer> tokenizer) implements AutoCloseable {
        @Override
        public void close() {
            tokenizer.ifPresent(TextTokenizer::close);
            model.close();
        }
    }

    LoadedModel load(ModelSettings settings);
}
