package dev.peft4j.api.spi;

import ai.djl.Device;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.text.TextTokenizer;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;

/**
 * The only way a plugin reaches host services. It grows by {@code default} methods only (Trino's
 * {@code ConnectorContext} rule), so a new host service never breaks a plugin built earlier. No method
 * returns null.
 */
public interface PluginContext {
    /**
     * The backbone being adapted or trained. Empty only when the host adapts a bare module tree with no
     * model behind it ({@code Peft4j.adapt(Module, ...)}); inside a run, {@code inspect}, {@code generate}
     * and {@code Peft4j.adapt(TransformerModel, ...)} it is always present. Never null.
     */
    Optional<TransformerModel> model();

    /**
     * The backbone, for a {@code component} that cannot work without one (prefix tuning needs the
     * model's attention shape).
     *
     * @throws IllegalStateException naming the component when there is no model
     */
    default TransformerModel requireModel(String component) {
        return model().orElseThrow(() -> new IllegalStateException(component + " needs a TransformerModel, but a bare module tree is being"
                + " adapted (use the TransformerModel overload of Peft4j.adapt)"));
    }

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
