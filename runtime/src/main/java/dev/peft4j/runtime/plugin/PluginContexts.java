package dev.peft4j.runtime.plugin;

import static java.util.Objects.requireNonNull;

import ai.djl.Device;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import jakarta.inject.Inject;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/** Makes the {@link PluginContext} given to a plugin's factories: the only way a plugin reaches host services. */
public final class PluginContexts {
    private final TensorFiles tensorFiles;

    @Inject
    public PluginContexts(TensorFiles tensorFiles) {
        this.tensorFiles = requireNonNull(tensorFiles, "tensorFiles is null");
    }

    /**
     * @param model the backbone (null when a bare module is adapted)
     * @param tokenizer the model's tokenizer, or null
     * @param device where the model lives
     * @param runDirectory the run's output directory, or null outside a run
     * @param seed the run's seed
     */
    public PluginContext create(TransformerModel model, TextTokenizer tokenizer, Device device, Path runDirectory, long seed) {
        return new HostPluginContext(model, tokenizer, device, runDirectory, LoggerFactory.getLogger("peft4j.plugin"), tensorFiles, seed);
    }

    /** {@code context} with the run's teacher ({@link PluginContext#teacher()}), when it is one this class made. */
    public PluginContext withTeacher(PluginContext context, TransformerModel teacher) {
        if (context instanceof HostPluginContext host) {
            return host.withTeacher(teacher);
        }
        return new PluginContext() { // a caller's own context (tests, embedders): everything but the teacher delegates
            @Override
            public java.util.Optional<TransformerModel> model() {
                return context.model();
            }

            @Override
            public java.util.Optional<TextTokenizer> tokenizer() {
                return context.tokenizer();
            }

            @Override
            public Device device() {
                return context.device();
            }

            @Override
            public java.util.Optional<Path> runDirectory() {
                return context.runDirectory();
            }

            @Override
            public org.slf4j.Logger logger() {
                return context.logger();
            }

            @Override
            public TensorFiles tensorFiles() {
                return context.tensorFiles();
            }

            @Override
            public long seed() {
                return context.seed();
            }

            @Override
            public java.util.Optional<TransformerModel> teacher() {
                return java.util.Optional.ofNullable(teacher);
            }
        };
    }

    /** {@code context} with the logger of {@code plugin}, when it is one this class made. */
    public PluginContext forPlugin(PluginContext context, LoadedPlugin plugin) {
        return context instanceof HostPluginContext host ? host.forPlugin(plugin) : context;
    }
}
