package dev.peft4j.adapters;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.models.Engines;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.SafetensorsWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A tiny random BERT under {@code bert} beside a {@code classifier} head (HF BertForSequenceClassification
 * names), a fake plugin context and test TensorFiles.
 *
 * <p>Parameter counts of the tiny BERT (vocab 99, hidden 32, 2 layers, 4 heads, intermediate 37, 64
 * positions, 2 token types, with pooler): embeddings 99*32 + 64*32 + 2*32 + LayerNorm 64 = 5344; per layer
 * q/k/v 3*(32*32+32) = 3168, attention output 32*32+32 + 64 = 1120, intermediate 32*37+37 = 1221, output
 * 37*32+32 + 64 = 1280, together 6789; pooler 32*32+32 = 1056; total 19978. Head 32*2+2 = 66.
 */
final class TestModels {
    static final long EMBEDDINGS = 5344;
    static final long LAYER = 6789;
    static final long POOLER = 1056;
    static final long HEAD = 66;
    static final long TOTAL = EMBEDDINGS + 2 * LAYER + POOLER + HEAD; // 20044

    static {
        Engines.pytorch();
    }

    private TestModels() {}

    static BertConfig config() {
        return BertConfig.of(99, 32, 2, 4, 37, 64);
    }

    /** A task model: {@code bert.*} and {@code classifier}; the same weights for the same seed. */
    static final class Task extends Module implements AutoCloseable {
        final BertModel bert;

        Task(NDManager manager, long seed) {
            super(ModuleType.MODEL);
            bert = BertModel.random(config(), manager, seed);
            addChild("bert", bert.module());
            Random random = new Random(seed + 1);
            float[] w = new float[2 * 32];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (random.nextGaussian() * 0.02);
            }
            NDManager owner = bert.manager();
            try (NDArray javaBacked = owner.create(w, new Shape(2, 32))) {
                addChild("classifier", new Linear(javaBacked.duplicate(), owner.zeros(new Shape(2)), false));
            }
        }

        /** Logits {@code [2, 2]} of the pooled output on a fixed padded batch. */
        NDArray logits(ForwardContext ctx) {
            NDManager m = ctx.manager();
            NDArray ids = m.create(new long[] {2, 7, 9, 13, 21, 4, 3, 2, 11, 5, 3, 0, 0, 0}, new Shape(2, 7));
            NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, new Shape(2, 7));
            NDList out = child("bert").forward(new NDList(ids, mask), ctx);
            return child("classifier").forward(out.get(1), ctx);
        }

        /** The backbone's last hidden state {@code [2, 7, 32]} on the same batch. */
        NDArray lastHiddenState(ForwardContext ctx) {
            NDManager m = ctx.manager();
            NDArray ids = m.create(new long[] {2, 7, 9, 13, 21, 4, 3, 2, 11, 5, 3, 0, 0, 0}, new Shape(2, 7));
            NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, new Shape(2, 7));
            return child("bert").forward(new NDList(ids, mask), ctx).get(0);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
            bert.close();
        }
    }

    /** A method's config section: {@code overrides} over {@code peft4j.methods.<method>} of reference.conf. */
    static com.typesafe.config.Config section(String method, String overrides) {
        return com.typesafe.config.ConfigFactory.parseString(overrides)
                .withFallback(com.typesafe.config.ConfigFactory.defaultReference().getConfig("peft4j.methods." + method));
    }

    static PluginContext context(TransformerModel model) {
        return new PluginContext() {
            @Override
            public Optional<TransformerModel> model() {
                return Optional.ofNullable(model);
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
                return LoggerFactory.getLogger("test");
            }

            @Override
            public TensorFiles tensorFiles() {
                return FILES;
            }

            @Override
            public long seed() {
                return 1;
            }
        };
    }

    /** Adds N(0, 0.1) to every trainable parameter (in place, outside any collector). */
    static void perturb(Map<String, Parameter> trainable, long seed) {
        Random random = new Random(seed);
        trainable.values().forEach(p -> {
            float[] noise = new float[Math.toIntExact(p.size())];
            for (int i = 0; i < noise.length; i++) {
                noise[i] = (float) (random.nextGaussian() * 0.1);
            }
            NDManager m = p.value().getManager();
            try (NDArray n = m.create(noise, p.shape())) {
                p.value().addi(n);
            }
        });
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        return a.sub(b).abs().max().getFloat();
    }

    static final TensorFiles FILES = new TensorFiles() {
        @Override
        public void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
            SafetensorsWriter.write(file, tensors, metadata);
        }

        @Override
        public Map<String, NDArray> read(Path file, NDManager manager) {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                return f.loadAll(manager);
            }
        }

        @Override
        public Map<String, String> metadata(Path file) {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                return f.metadata();
            }
        }
    };
}
