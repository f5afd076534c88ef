package dev.peft4j.lora;

import dev.peft4j.api.spi.AdapterMethodContractTest;
import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.bert.BertModel;
import org.junit.jupiter.api.Test;

/**
 * LoRA and DoRA forward/backward passes in per-step managers leave nothing behind in the model's manager
 * (every intermediate attaches to a per-call array), and gradients stay finite and repeatable.
 */
class LoraMemoryTest {
    @Test
    void trainingStepsInPerStepManagersKeepTheModelManagerFlat() {
        for (boolean dora : new boolean[] {false, true}) {
            try (NDManager base = NDManager.newBaseManager(); BertModel model = TestModels.randomBert(base, 3)) {
                LoraModel lora = LoraModel.create(model.module(), LoraConfig.builder().r(4).alpha(8).dropout(0.1)
                        .targetModules("query", "value", "dense").useDora(dora).build(), "bert", 1);
                AdapterMethodContractTest.perturb(lora);
                int after3 = -1;
                float firstGradient = 0;
                for (int step = 1; step <= 12; step++) {
                    try (NDManager stepManager = base.newSubManager()) {
                        ModelInput input = TestModels.batch(stepManager);
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray h = model.forward(input, new ForwardContext(stepManager, true)).lastHiddenState();
                            gc.backward(h.mul(h).mean());
                        }
                        for (var p : lora.trainableParameters().values()) {
                            try (NDArray g = p.value().getGradient()) {
                                float s = 0; // on the host: ops on g would attach to the model's manager
                                for (float f : g.toFloatArray()) {
                                    s += Math.abs(f);
                                }
                                assertThat(Float.isFinite(s)).isTrue();
                                if (step == 1 && firstGradient == 0) {
                                    firstGradient = s;
                                }
                                g.subi(g);
                            }
                        }
                    }
                    if (step == 3) {
                        after3 = live(base);
                    }
                }
                assertThat(firstGradient).isGreaterThan(0f);
                assertThat(live(base)).as(dora ? "dora" : "lora").isEqualTo(after3);
            }
        }
    }

    static int live(NDManager m) {
        return ((BaseNDManager) m).getManagedArrays().size();
    }
}
