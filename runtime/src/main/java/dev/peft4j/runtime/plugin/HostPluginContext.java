package dev.peft4j.runtime.plugin;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's {@link PluginContext}: plain values, made by {@link PluginContexts}. {@link #model()} is
 * empty when a bare module is adapted without a model (the Java API's {@code adapt(Module, ...)}).
 */
final class HostPluginContext implements PluginContext {
    private final TransformerModel model;
    private final TextTokenizer tokenizer;
    private final Device device;
    private final Path runDirectory;
    private final Logger logger;
    private final TensorFiles tensorFiles;
    private final long seed;
    private final TransformerModel teacher;

    HostPluginContext(TransformerModel model, TextTokenizer tokenizer, Device device, Path runDirectory, Logger logger,
            TensorFiles tensorFiles, long seed) {
        this(model, tokenizer, device, runDirectory, logger, tensorFiles, seed, null);
    }

    HostPluginContext(TransformerModel model, TextTokenizer tokenizer, Device device, Path runDirectory, Logger logger,
            TensorFiles tensorFiles, long seed, TransformerModel teacher) {
        this.teacher = teacher;
        this.model = model;
        this.tokenizer = tokenizer;
        this.device = requireNonNull(device, "device is null");
        this.runDirectory = runDirectory;
        this.logger = requireNonNull(logger, "logger is null");
        this.tensorFiles = requireNonNull(tensorFiles, "tensorFiles is null");
        this.seed = seed;
    }

    @Override
    public Optional<TransformerModel> model() {
        return Optional.ofNullable(model);
    }

    @Override
    public Optional<TextTokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public Optional<Path> runDirectory() {
        return Optional.ofNullable(runDirectory);
    }

    @Override
    public Logger logger() {
        return logger;
    }

    @Override
    public TensorFiles tensorFiles() {
        return tensorFiles;
    }

    @Override
    public long seed() {
        return seed;
    }

    @Override
    public Optional<TransformerModel> teacher() {
        return Optional.ofNullable(teacher);
    }

    /** The same context with the run's teacher. */
    HostPluginContext withTeacher(TransformerModel teacher) {
        return new HostPluginContext(model, tokenizer, device, runDirectory, logger, tensorFiles, seed, teacher);
    }

    /** The same context with the logger of one plugin ({@code peft4j.plugin.<name>}). */
    HostPluginContext forPlugin(LoadedPlugin plugin) {
        return new HostPluginContext(model, tokenizer, device, runDirectory, LoggerFactory.getLogger("peft4j.plugin." + plugin.name()),
                tensorFiles, seed, teacher);
    }
}
