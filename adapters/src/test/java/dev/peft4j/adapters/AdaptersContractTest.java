package dev.peft4j.adapters;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.adapters.bottleneck.BottleneckMethod;
import dev.peft4j.adapters.ia3.Ia3Method;
import dev.peft4j.adapters.lntuning.LayerNormTuningMethod;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.AdapterMethodContractTest;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.TensorFiles;
import java.util.List;
import java.util.function.Predicate;

/**
 * The adapters module's rows of the shared adapter-method contract: full fine-tuning (nothing frozen,
 * freeze patterns, top layers only, freeze-layers with a schedule), BitFit, IA3, LN tuning and bottleneck adapters, on the tiny BERT task model ({@code bert.*} + {@code classifier}).
 */
class AdaptersContractTest extends AdapterMethodContractTest {
    /**
     * @param hiddenStates whether the subject's output is the last hidden state instead of the logits (the tiny
     *     head's 0.02-scale logits barely move under a small rescaling, too little for the save/load check)
     */
    record MethodRow<C>(String name, AdapterMethodFactory<C> method, String overrides, Predicate<String> trains, boolean hiddenStates)
            implements Row {
        MethodRow(String name, AdapterMethodFactory<C> method, String overrides, Predicate<String> trains) {
            this(name, method, overrides, trains, false);
        }

        @Override
        public Subject newSubject(NDManager manager) {
            TestModels.Task task = new TestModels.Task(manager, 5);
            return new Subject() {
                @Override
                public Module root() {
                    return task;
                }

                @Override
                public NDArray forward(ForwardContext ctx) {
                    return hiddenStates ? task.lastHiddenState(ctx) : task.logits(ctx);
                }

                @Override
                public void close() {
                    task.close();
                }
            };
        }

        @Override
        public Adaptation apply(Subject subject, long seed) {
            C config = method.parseConfig(TestModels.section(method.name(), overrides));
            return method.apply(subject.root(), config, TestModels.context(((TestModels.Task) subject.root()).bert));
        }

        @Override
        public boolean isAdapterParameter(String name) {
            return trains.test(name);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Override
    protected List<? extends Row> rows() {
        return List.of(
                new MethodRow<>("full, nothing frozen", new FullFineTuningMethod(), "", name -> true),
                new MethodRow<>("full, embeddings and LayerNorm frozen", new FullFineTuningMethod(), "freeze-embeddings = true, freeze = [LayerNorm]",
                        name -> !name.startsWith("bert.embeddings.") && !name.contains(".LayerNorm.")),
                new MethodRow<>("full, top layer only", new FullFineTuningMethod(), "trainable-layers = 1",
                        name -> name.startsWith("bert.encoder.layer.1.") || name.startsWith("bert.pooler.") || name.startsWith("classifier.")),
                new MethodRow<>("full, freeze-layers = 1 with layer-lr-decay, learning-rate-scale and gradual unfreezing", new FullFineTuningMethod(),
                        "freeze-layers = 1, layer-lr-decay = 0.8, learning-rate-scale { classifier = 5 }, unfreeze-every = 2",
                        name -> name.startsWith("bert.encoder.layer.1.") || name.startsWith("bert.pooler.") || name.startsWith("classifier.")),
                new MethodRow<>("bitfit", new BitFitMethod(), "", name -> name.endsWith(".bias") || name.startsWith("classifier.")),
                new MethodRow<>("ia3, BERT defaults", new Ia3Method(), "", name -> name.endsWith(".ia3_l"), true),
                new MethodRow<>("ia3, regex targets, no feed-forward", new Ia3Method(),
                        "target-modules = \"bert\\\\.encoder\\\\.layer\\\\.[0-9]+\\\\.attention\\\\.self\\\\.(query|value)\", feedforward-modules = []",
                        name -> name.endsWith(".ia3_l"), true),
                new MethodRow<>("layernorm-tuning, BERT default (every LayerNorm)", new LayerNormTuningMethod(), "",
                        name -> name.contains(".LayerNorm."), true),
                new MethodRow<>("bottleneck, houlsby", new BottleneckMethod(), "architecture = houlsby, reduction-factor = null, bottleneck-size = 4",
                        name -> name.contains(".adapters.default.adapter_"), true),
                new MethodRow<>("bottleneck, pfeiffer, gelu", new BottleneckMethod(),
                        "architecture = pfeiffer, reduction-factor = 8, non-linearity = gelu",
                        name -> name.contains(".output.adapters.default.adapter_") && !name.contains("attention"), true));
    }

    @Override
    protected TensorFiles tensorFiles() {
        return TestModels.FILES;
    }
}
