package dev.peft4j.distillation;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Hand-written fakes: a model that is only a config (layers, hidden size), and a plugin context with a teacher. */
final class FakeModels {
    private FakeModels() {}

    static TransformerModel model(NDManager manager, int layers, int hidden) {
        ModelConfig config = new ModelConfig(Map.of("model_type", "bert", "num_hidden_layers", layers, "hidden_size", hidden), "fake/config.json");
        Module module = new Linear(manager, hidden, hidden, false);
        return new TransformerModel() {
            @Override
            public ModelConfig config() {
                return config;
            }

            @Override
            public Module module() {
                return module;
            }

            @Override
            public NDManager manager() {
                return manager;
            }

            @Override
            public String baseModelPrefix() {
                return "bert";
            }

            @Override
            public boolean isCausalLm() {
                return false;
            }

            @Override
            public ModelOutput forward(ModelInput input, ForwardContext context) {
                throw new UnsupportedOperationException("config-only fake");
            }

            @Override
            public void close() {}
        };
    }

    static PluginContext context(TransformerModel student, TransformerModel teacher) {
        return new PluginContext() {
            @Override
            public Optional<TransformerModel> model() {
                return Optional.of(student);
            }

            @Override
            public Optional<TransformerModel> teacher() {
                return Optional.ofNullable(teacher);
            }

            @Override
            public Optional<TextTokenizer> tokenizer() {
                return Optional.empty();
            }

            @Override
            public Device device() {
                return student.manager().getDevice();
            }

            @Override
            public Optional<Path> runDirectory() {
                return Optional.empty();
            }

            @Override
            public Logger logger() {
                return LoggerFactory.getLogger("test");
            }

            @Override
            public TensorFiles tensorFiles() {
                throw new UnsupportedOperationException();
            }

            @Override
            public long seed() {
                return 7;
            }
        };
    }
}
