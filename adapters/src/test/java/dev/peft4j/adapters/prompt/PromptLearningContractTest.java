package dev.peft4j.adapters.prompt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.AdapterMethodContractTest;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.TensorFiles;
import java.util.List;
import java.util.function.BiFunction;

/** Prefix and prompt tuning through the shared adapter-method contract, on BERT, Llama (GQA) and GPT-2. */
class PromptLearningContractTest extends AdapterMethodContractTest {
    record PromptRow<C>(String name, BiFunction<NDManager, Long, TransformerModel> model, AdapterMethodFactory<C> method, String overrides)
            implements Row {
        @Override
        public Subject newSubject(NDManager manager) {
            TransformerModel m = model.apply(manager, 11L);
            return new Subject() {
                @Override
                public Module root() {
                    return m.module();
                }

                @Override
                public NDArray forward(ForwardContext ctx) {
                    return PromptLearningTestModels.output(m, ctx);
                }

                TransformerModel model() {
                    return m;
                }

                @Override
                public void close() {
                    m.close();
                }
            };
        }

        @Override
        public Adaptation apply(Subject subject, long seed) {
            TransformerModel m = modelOf(subject);
            C config = method.parseConfig(PromptLearningTests.section(method.name(), overrides));
            return method.apply(m.module(), config, PromptLearningTestModels.context(m, null, seed));
        }

        private static TransformerModel modelOf(Subject subject) {
            try {
                var accessor = subject.getClass().getDeclaredMethod("model");
                accessor.setAccessible(true);
                return (TransformerModel) accessor.invoke(subject);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public boolean isAdapterParameter(String name) {
            return name.startsWith(PromptLearningModel.CONTAINER + "." + PromptLearningModel.ADAPTER_NAME + ".");
        }

        @Override
        public boolean isIdentityWhenFresh() {
            return false;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Override
    protected List<? extends Row> rows() {
        return List.of(
                new PromptRow<>("prefix, bert", PromptLearningTestModels::bert, new PrefixTuningMethod(), "num-virtual-tokens = 3"),
                new PromptRow<>("prefix with projection, bert", PromptLearningTestModels::bert, new PrefixTuningMethod(),
                        "num-virtual-tokens = 3, prefix-projection = true, encoder-hidden-size = 12"),
                new PromptRow<>("prefix, llama gqa", PromptLearningTestModels::llama, new PrefixTuningMethod(), "num-virtual-tokens = 4"),
                new PromptRow<>("prefix, gpt2", PromptLearningTestModels::gpt2, new PrefixTuningMethod(), "num-virtual-tokens = 2"),
                new PromptRow<>("prompt, bert", PromptLearningTestModels::bert, new PromptTuningMethod(), "num-virtual-tokens = 3"),
                new PromptRow<>("prompt, llama gqa", PromptLearningTestModels::llama, new PromptTuningMethod(), "num-virtual-tokens = 4"),
                new PromptRow<>("prompt, gpt2", PromptLearningTestModels::gpt2, new PromptTuningMethod(), "num-virtual-tokens = 2"));
    }

    @Override
    protected TensorFiles tensorFiles() {
        return PromptLearningTestModels.FILES;
    }
}
