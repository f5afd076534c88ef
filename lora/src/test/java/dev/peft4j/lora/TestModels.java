package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.Engines;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import java.util.Random;

/** Tiny models for LoRA tests: random BERT, BERT + classifier head (HF BertForSequenceClassification names), a GPT-2-like Conv1D toy. */
final class TestModels {
    private TestModels() {}

    static {
        Engines.pytorch();
    }

    /** The host's safetensors TensorFiles (models module); tests use it as the plugin would get it. */
    static final dev.peft4j.api.spi.TensorFiles FILES = new dev.peft4j.models.safetensors.SafetensorsTensorFiles();

    static BertConfig tinyBertConfig() {
        return BertConfig.of(50, 16, 2, 2, 24, 32);
    }

    /** A fixed padded batch of two sequences, ids/mask/types int64 [2, 7] (as tools/lora/make_peft_fixtures.py). */
    static ModelInput batch(NDManager m) {
        NDArray ids = m.create(new long[] {2, 7, 9, 13, 21, 4, 3, 2, 11, 5, 3, 0, 0, 0}, new Shape(2, 7));
        NDArray mask = m.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, new Shape(2, 7));
        NDArray types = m.create(new long[] {0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, new Shape(2, 7));
        return new ModelInput(ids, mask, types, null);
    }

    /**
     * HF's BertForSequenceClassification tree: {@code bert.*} (the backbone's module) and {@code classifier}
     * (Linear hidden -&gt; labels); forward gives logits {@code [batch, labels]} from the pooled output.
     */
    static final class Classifier extends Module {
        private final TransformerModel backbone;

        Classifier(TransformerModel backbone, Linear classifier) {
            super(ModuleType.MODEL);
            this.backbone = backbone;
            addChild("bert", backbone.module());
            addChild("classifier", classifier);
        }

        TransformerModel backbone() {
            return backbone;
        }

        NDArray logits(ModelInput input, ForwardContext ctx) {
            return child("classifier").forward(backbone.forward(input, ctx).pooled(), ctx);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            throw new UnsupportedOperationException("use logits(ModelInput, ForwardContext)");
        }
    }

    static Linear randomLinear(NDManager m, long in, long out, boolean bias, boolean fanInFanOut, Random random) {
        Linear l = new Linear(m, in, out, bias, fanInFanOut);
        for (Parameter p : l.localParameters().values()) {
            p.setValue(randomArray(m, p.shape(), 0.2, random));
        }
        return l;
    }

    static NDArray randomArray(NDManager m, Shape shape, double std, Random random) {
        return dev.peft4j.api.spi.AdapterMethodContractTest.randomArray(m, shape, std, random);
    }

    /** A container that only holds children (forward is its parent's business). */
    static class Container extends Module {
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

    /**
     * GPT-2-like toy with Conv1D weights stored [in, out] ({@code fanInFanOut}): {@code h.0.attn.c_attn} 8-&gt;24,
     * {@code h.0.attn.c_proj} 24-&gt;8, {@code h.0.mlp.c_fc} 8-&gt;16, and a plain {@code lm_head} 16-&gt;10.
     * Input float [batch, seq, 8].
     */
    static final class Gpt2Toy extends Module {
        Gpt2Toy(NDManager m, long seed) {
            super(ModuleType.MODEL);
            Random r = new Random(seed);
            Container h = addChild("h", new Container());
            Container block = h.add("0", new Container());
            Container attn = block.add("attn", new Container());
            attn.add("c_attn", randomLinear(m, 8, 24, true, true, r));
            attn.add("c_proj", randomLinear(m, 24, 8, true, true, r));
            block.add("mlp", new Container()).add("c_fc", randomLinear(m, 8, 16, true, true, r));
            addChild("lm_head", randomLinear(m, 16, 10, false, false, r));
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext ctx) {
            NDArray x = inputs.singletonOrThrow();
            NDArray a = find("h.0.attn.c_attn").forward(x, ctx).tanh();
            NDArray p = find("h.0.attn.c_proj").forward(a, ctx).add(x);
            NDArray f = find("h.0.mlp.c_fc").forward(p, ctx).tanh();
            return new NDList(find("lm_head").forward(f, ctx));
        }

        static NDArray input(NDManager m) {
            return randomArray(m, new Shape(2, 5, 8), 1.0, new Random(7)).toType(DataType.FLOAT32, false);
        }
    }

    static BertModel randomBert(NDManager m, long seed) {
        return BertModel.random(tinyBertConfig(), m, seed);
    }

    static float maxAbsDiff(NDArray a, NDArray b) {
        return dev.peft4j.api.spi.AdapterMethodContractTest.maxAbsDiff(a, b);
    }
}
