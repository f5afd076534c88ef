package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.AdapterMethodContractTest;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.models.bert.BertModel;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/** LoRA's rows of the adapter-method contract: LoRA, rsLoRA, DoRA, bias=all, bias=lora_only, GPT-2 Conv1D, head saved. */
class LoraContractTest extends AdapterMethodContractTest {
    record LoraRow(String name, String modelType, Function<NDManager, Subject> subjects, LoraConfig config) implements Row {
        @Override
        public Subject newSubject(NDManager manager) {
            return subjects.apply(manager);
        }

        @Override
        public Adaptation apply(Subject subject, long seed) {
            return LoraModel.create(subject.root(), config, modelType, seed);
        }

        @Override
        public boolean isAdapterParameter(String name) {
            return name.contains(".lora_A.") || name.contains(".lora_B.") || name.contains(".lora_magnitude_vector.")
                    || (config.bias() != LoraConfig.Bias.NONE && name.endsWith(".bias"))
                    || name.startsWith("classifier.") && config.modulesToSave().contains("classifier");
        }

        @Override
        public boolean expectsNonZeroGradient(String name) {
            return name.contains("lora_"); // a bias = all row also trains biases the subject's output does not reach (pooler)
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Subject bert(NDManager m) {
        BertModel model = TestModels.randomBert(m, 42);
        ModelInput input = TestModels.batch(m);
        return new Subject() {
            @Override
            public Module root() {
                return model.module();
            }

            @Override
            public NDArray forward(ForwardContext ctx) {
                return model.forward(input, ctx).lastHiddenState();
            }

            @Override
            public void close() {
                model.close();
            }
        };
    }

    static Subject bertClassifier(NDManager m) {
        BertModel model = TestModels.randomBert(m, 42);
        TestModels.Classifier root = new TestModels.Classifier(model, TestModels.randomLinear(model.manager(), 16, 3, true, false, new Random(5)));
        ModelInput input = TestModels.batch(m);
        return new Subject() {
            @Override
            public Module root() {
                return root;
            }

            @Override
            public NDArray forward(ForwardContext ctx) {
                return root.logits(input, ctx);
            }

            @Override
            public void close() {
                model.close();
            }
        };
    }

    static Subject gpt2(NDManager m) {
        NDManager own = m.newSubManager();
        TestModels.Gpt2Toy toy = new TestModels.Gpt2Toy(own, 9);
        NDArray x = TestModels.Gpt2Toy.input(own);
        return new Subject() {
            @Override
            public Module root() {
                return toy;
            }

            @Override
            public NDArray forward(ForwardContext ctx) {
                return toy.forward(new NDList(x), ctx).singletonOrThrow();
            }

            @Override
            public void close() {
                own.close();
            }
        };
    }

    static LoraConfig.Builder qv() {
        return LoraConfig.builder().r(4).alpha(8).targetModules("query", "value").dropout(0.1);
    }

    @Override
    protected List<LoraRow> rows() {
        return List.of(
                new LoraRow("lora", "bert", LoraContractTest::bert, qv().build()),
                new LoraRow("rslora gaussian", "bert", LoraContractTest::bert, qv().useRslora(true).init(LoraConfig.Init.GAUSSIAN).build()),
                new LoraRow("dora", "bert", LoraContractTest::bert, qv().useDora(true).targetModules("query", "value", "attention.output.dense").build()),
                new LoraRow("bias=all", "bert", LoraContractTest::bert, qv().bias(LoraConfig.Bias.ALL).build()),
                new LoraRow("bias=lora_only", "bert", LoraContractTest::bert, qv().bias(LoraConfig.Bias.LORA_ONLY).build()),
                new LoraRow("classifier saved", "bert", LoraContractTest::bertClassifier,
                        qv().modulesToSave(List.of("classifier")).taskType("SEQ_CLS").build()),
                new LoraRow("gpt2 conv1d fan_in_fan_out", "gpt2", LoraContractTest::gpt2,
                        LoraConfig.builder().r(2).alpha(4).targetModules("c_attn", "c_proj", "c_fc").build()),
                new LoraRow("gpt2 conv1d dora", "gpt2", LoraContractTest::gpt2,
                        LoraConfig.builder().r(2).alpha(4).targetRegex(LoraConfig.ALL_LINEAR).useDora(true).build()));
    }

    @Override
    protected TensorFiles tensorFiles() {
        return TestModels.FILES;
    }
}
