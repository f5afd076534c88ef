package dev.peft4j.api.spi;

import ai.djl.Device;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.text.TextTokenizer;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;

/** The only way a plugin reaches host services. */
public interface PluginContext {
    /** The backbone being adapted or trained. */
    TransformerModel model();

    Optional<TextTokenizer> tokenizer();

    Device device();

    /** Where the current run writes its outputs; empty when not inside a run. */
    Optional<Path> runDirectory();

    Logger logger();

    /** Reading and writing tensor files (safetensors), so plugins need no file-format code. */
    TensorFiles tensorFiles();

    /** The run's seed, for reproducible initialisation. */
    long seed();

    /**
     * The frozen teacher of a distillation run (the experiment's {@code teacher} section), for
     * objectives that size themselves by it (a projection to the teacher's hidden size); empty when
     * the run has no teacher.
     */
    default Optional<TransformerModel> teacher() {
        return Optional.empty();
    }
}
