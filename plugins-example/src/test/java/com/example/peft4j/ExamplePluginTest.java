package com.example.peft4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigProblem;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.LayerNorm;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.SpiVersion;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plugin tested as its author would, against peft4j-api only: a hand-built module tree shaped
 * like HF BERT's names, and a hand-written {@link PluginContext}. (The host-side test, with the jar
 * in a plugin directory and a real model, is runtime's PluginIntegrationTest.)
 */
class ExamplePluginTest {
    /** encoder.layer.{0,1}.{dense, output.LayerNorm} plus embeddings.LayerNorm; forward unused. */
    static final class Tree extends Module {
        Tree(NDManager m) {
            super(ModuleType.MODEL);
            Module embeddings = addChild("embeddings", new Container());
            ((Container) embeddings).add("LayerNorm", new LayerNorm(m, 4, 1e-12f));
            Container encoder = addChild("encoder", new Container());
            Container layers = encoder.add("layer", new Container());
            for (int i = 0; i < 2; i++) {
                Container layer = layers.add(String.valueOf(i), new Container());
                layer.add("dense", new Linear(m, 4, 4, true));
                layer.add("output", new Container()).add("LayerNorm", new LayerNorm(m, 4, 1e-12f));
            }
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            throw new UnsupportedOperationException();
        }
    }

    static final class Container extends Module {
        Container() {
            super(ModuleType.CONTAINER);
        }

        <M extends Module> M add(String name, M child) {
            return addChild(name, child);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            throw new UnsupportedOperationException();
        }
    }

    static PluginContext context(TransformerModel model) {
        return new PluginContext() {
            public Optional<TransformerModel> model() {
                return Optional.ofNullable(model);
            }

            public Optional<TextTokenizer> tokenizer() {
                return Optional.empty();
            }

            public Device device() {
                return Device.cpu();
            }

            public Optional<Path> runDirectory() {
                return Optional.empty();
            }

            public Logger logger() {
                return LoggerFactory.getLogger("test");
            }

            public TensorFiles tensorFiles() {
                throw new UnsupportedOperationException();
            }

            public long seed() {
                return 3;
            }
        };
    }

    static Config withDefaults(String user, String defaultsPath) {
        return ConfigFactory.parseString(user).withFallback(ConfigFactory.parseResources("reference.conf").getConfig(defaultsPath));
    }

    @Test
    void thePluginDeclaresTheCurrentSpiAndBothFactories() {
        ExamplePlugin plugin = new ExamplePlugin();
        assertThat(plugin.spiVersion()).isEqualTo(SpiVersion.CURRENT);
        assertThat(plugin.adapterMethods()).extracting(f -> f.name()).containsExactly("example-norm-tuning");
        assertThat(plugin.taskHeads()).extracting(f -> f.name()).containsExactly("mean-pool-classifier");
    }

    @Test
    void layerNormTuningTrainsOnlyTheChosenNorms() {
        try (NDManager m = NDManager.newBaseManager()) {
            Tree tree = new Tree(m);
            LayerNormTuningFactory factory = new LayerNormTuningFactory();
            LayerNormTuningConfig config = factory.parseConfig(withDefaults("layers = [1], include-bias = false", "peft4j.methods.example-norm-tuning"));
            Adaptation a = factory.apply(tree, config, context(null));
            assertThat(a.targetedModules()).containsExactly("encoder.layer.1.output.LayerNorm");
            assertThat(tree.trainableParameters().keySet()).containsExactly("encoder.layer.1.output.LayerNorm.weight");
            a.unload();
            assertThat(tree.trainableParameterCount()).isEqualTo(tree.parameterCount());

            Adaptation all = factory.apply(tree, factory.parseConfig(withDefaults("", "peft4j.methods.example-norm-tuning")), context(null));
            assertThat(all.trainableParameters().keySet()).containsExactly("embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
                    "encoder.layer.0.output.LayerNorm.weight", "encoder.layer.0.output.LayerNorm.bias",
                    "encoder.layer.1.output.LayerNorm.weight", "encoder.layer.1.output.LayerNorm.bias");
            assertThat(tree.trainableParameterCount()).isEqualTo(6 * 4);
        }
    }

    @Test
    void aLayerTheModelDoesNotHaveChangesNothing() {
        try (NDManager m = NDManager.newBaseManager()) {
            Tree tree = new Tree(m);
            LayerNormTuningFactory factory = new LayerNormTuningFactory();
            assertThatThrownBy(() -> factory.apply(tree, new LayerNormTuningConfig(true, List.of(7)), context(null)))
                    .isInstanceOf(Peft4jException.class).hasMessage("example-norm-tuning: layers contains 7, but the model's norms are in layers [0, 1]");
            assertThat(tree.trainableParameterCount()).isEqualTo(tree.parameterCount());
        }
    }

    @Test
    void configsAreStrict() {
        assertThatThrownBy(() -> new LayerNormTuningFactory().parseConfig(withDefaults("layers = [-1], include-bais = 1", "peft4j.methods.example-norm-tuning")))
                .isInstanceOfSatisfying(InvalidConfigException.class, e -> assertThat(e.problems()).extracting(ConfigProblem::key)
                        .containsExactly("layers", "include-bais"));
        assertThatThrownBy(() -> new MeanPoolClassifierFactory().parseConfig(withDefaults("num-labels = 1, dropout = 1", "peft4j.heads.mean-pool-classifier")))
                .isInstanceOfSatisfying(InvalidConfigException.class, e -> assertThat(e.problems()).extracting(ConfigProblem::key)
                        .containsExactly("num-labels", "dropout"));
    }

    @Test
    void theHeadMeanPoolsRealTokensAndItsLossIsCrossEntropy() {
        try (NDManager m = NDManager.newBaseManager()) {
            TransformerModel backbone = new TransformerModel() {
                public ModelConfig config() {
                    return new ModelConfig(Map.of("hidden_size", 4), "test");
                }

                public Module module() {
                    return new Container();
                }

                public NDManager manager() {
                    return m;
                }

                public String baseModelPrefix() {
                    return "bert";
                }

                public boolean isCausalLm() {
                    return false;
                }

                public ModelOutput forward(ModelInput input, ForwardContext context) {
                    throw new UnsupportedOperationException();
                }

                public void close() {}
            };
            MeanPoolClassifierFactory factory = new MeanPoolClassifierFactory();
            TaskHead head = factory.create(backbone, new MeanPoolClassifierConfig(3, 0.0), context(backbone));
            assertThat(head.modules()).containsOnlyKeys("dropout", "classifier");
            assertThat(head.numLabels()).isEqualTo(3);
            // the padded position holds 100s: the mean must ignore it
            NDArray hidden = m.create(new float[] {1, 2, 3, 4, 3, 4, 5, 6, 100, 100, 100, 100}, new Shape(1, 3, 4));
            NDArray mask = m.create(new long[] {1, 1, 0}, new Shape(1, 3));
            ModelInput input = new ModelInput(m.create(new long[] {1, 2, 0}, new Shape(1, 3)), mask);
            ForwardContext ctx = ForwardContext.inference(m);
            NDArray logits = head.forward(new ModelOutput(hidden, null, null, null), input, ctx);
            Linear classifier = (Linear) head.modules().get("classifier");
            NDArray pooled = m.create(new float[] {2, 3, 4, 5}, new Shape(1, 4));
            NDArray expected = pooled.matMul(classifier.weight().transpose()).add(classifier.parameter("bias").value());
            assertThat(logits.getShape()).isEqualTo(new Shape(1, 3));
            assertThat(logits.sub(expected).abs().max().getFloat()).isLessThan(1e-6f);
            // cross-entropy: -log softmax(logits)[label]
            float[] z = logits.toFloatArray();
            double logSum = Math.log(Math.exp(z[0]) + Math.exp(z[1]) + Math.exp(z[2]));
            float loss = head.loss(logits, m.create(new long[] {2}), ctx).getFloat();
            assertThat((double) loss).isCloseTo(logSum - z[2], org.assertj.core.data.Offset.offset(1e-5));
            assertThat(classifier.parameter("bias").value().toType(DataType.FLOAT32, false).abs().sum().getFloat()).isZero();
        }
    }
}
