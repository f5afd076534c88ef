package dev.peft4j.lora;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.SpiVersion;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.models.bert.BertModel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The plugin is found through ServiceLoader and its factory works with the shipped defaults. */
class LoraPluginTest {
    record Context(TransformerModel backbone, long seed) implements PluginContext {
        @Override
        public Optional<TransformerModel> model() {
            return Optional.ofNullable(backbone);
        }

        @Override
        public Optional<TextTokenizer> tokenizer() {
            return Optional.empty();
        }

        @Override
        public Device device() {
            return Device.cpu();
        }

        @Override
        public Optional<Path> runDirectory() {
            return Optional.empty();
        }

        @Override
        public Logger logger() {
            return LoggerFactory.getLogger("lora-test");
        }

        @Override
        public TensorFiles tensorFiles() {
            return TestModels.FILES;
        }
    }

    @Test
    void registeredThroughServiceLoaderAndAppliesWithReferenceDefaults() {
        List<Peft4jPlugin> plugins = ServiceLoader.load(Peft4jPlugin.class, getClass().getClassLoader()).stream()
                .map(ServiceLoader.Provider::get).filter(p -> p instanceof LoraPlugin).toList();
        assertThat(plugins).hasSize(1);
        Peft4jPlugin plugin = plugins.get(0);
        assertThat(plugin.spiVersion()).isEqualTo(SpiVersion.CURRENT);
        assertThat(plugin.adapterMethods()).extracting(AdapterMethodFactory::name).containsExactly("lora");
        @SuppressWarnings("unchecked")
        AdapterMethodFactory<LoraConfig> lora = (AdapterMethodFactory<LoraConfig>) plugin.adapterMethods().get(0);
        LoraConfig config = lora.parseConfig(ConfigFactory.parseString("r = 4")
                .withFallback(ConfigFactory.parseResources(getClass().getClassLoader(), "reference.conf").getConfig("peft4j.methods.lora")));
        try (NDManager m = NDManager.newBaseManager(); BertModel model = TestModels.randomBert(m, 1)) {
            Adaptation a = lora.apply(model.module(), config, new Context(model, 5));
            // target-modules null -> PEFT's default for model_type bert: query, value
            assertThat(a.targetedModules()).hasSize(4).allMatch(p -> p.endsWith(".query") || p.endsWith(".value"));
            assertThat(a.trainableParameters()).hasSize(8);
            assertThat(a.method()).isEqualTo("lora");
            assertThat(a.canMerge()).isTrue();
        }
    }
}
