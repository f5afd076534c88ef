package dev.peft4j.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.models.Models;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Several adapters on one base, merge-and-unload, weighted combination, wrong-base errors, exact counts. */
class LoraModelTest {
    static final LoraConfig QV = LoraConfig.builder().r(4).alpha(8).targetModules("query", "value").build();

    static NDArray out(BertModel model, NDManager m) {
        return model.forward(TestModels.batch(m), ForwardContext.inference(m)).lastHiddenState();
    }

    static void perturb(LoraModel lora, String adapter, long seed) {
        Random random = new Random(seed);
        for (String path : lora.targetedModules(adapter)) {
            LoraLinear l = (LoraLinear) lora.root().find(path);
            for (Parameter p : List.of(l.loraA(adapter).parameter("weight"), l.loraB(adapter).parameter("weight"))) {
                p.setValue(TestModels.randomArray(p.value().getManager(), p.shape(), 0.2, random));
            }
        }
    }

    @Test
    @SuppressWarnings("try") // the disable handle is used only for its scope
    void namedAdaptersSwitchDisableAndDeleteWithoutTouchingTheBase() {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = TestModels.randomBert(m, 1)) {
            NDArray base = out(model, m);
            Map<String, NDArray> baseWeights = new LinkedHashMap<>();
            model.module().namedParameters().forEach((k, p) -> baseWeights.put(k, p.value()));
            LoraModel lora = LoraModel.create(model.module(), QV, "bert", 1);
            perturb(lora, "default", 2);
            lora.addAdapter(QV.toBuilder().adapterName("other").targetModules("key").build(), 3);
            perturb(lora, "other", 4);
            assertThat(lora.activeAdapter()).isEqualTo("default");
            NDArray first = out(model, m);
            lora.setActiveAdapter("other");
            NDArray second = out(model, m);
            assertThat(TestModels.maxAbsDiff(first, second)).isGreaterThan(1e-3f);
            assertThat(lora.trainableParameters().keySet()).allMatch(k -> k.contains(".other.") && k.contains(".key."));
            // switching is a field write per adapted layer: time it
            int n = 200;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                lora.setActiveAdapter(i % 2 == 0 ? "default" : "other");
            }
            double micros = (System.nanoTime() - t0) / 1e3 / n;
            System.out.printf("adapter switch: %.1f us per switch (6 LoRA layers)%n", micros);
            assertThat(micros).as("a switch reloads nothing").isLessThan(50_000);
            lora.setActiveAdapter("default");
            assertThat(TestModels.maxAbsDiff(out(model, m), first)).isZero();
            try (LoraModel.AdaptersDisabled off = lora.disableAdapters()) {
                assertThat(TestModels.maxAbsDiff(out(model, m), base)).isZero();
                assertThat(lora.trainableParameters()).isEmpty();
            }
            assertThat(TestModels.maxAbsDiff(out(model, m), first)).isZero();
            // the base tensors are the very same objects: nothing was reloaded or copied
            baseWeights.forEach((k, v) -> {
                String wrapped = k.replaceFirst("\\.(query|key|value)\\.(weight|bias)$", ".$1.base_layer.$2");
                assertThat(model.module().namedParameters().get(wrapped).value()).as(k).isSameAs(v);
            });
            lora.deleteAdapter("default");
            assertThat(lora.activeAdapter()).isEqualTo("other");
            assertThat(model.module().find("encoder.layer.0.attention.self.query")).isInstanceOf(Linear.class);
            assertThat(TestModels.maxAbsDiff(out(model, m), second)).isZero();
            lora.deleteAdapter("other");
            assertThat(model.module().namedParameters().keySet()).isEqualTo(baseWeights.keySet());
            assertThat(TestModels.maxAbsDiff(out(model, m), base)).isZero();
        }
    }

    @Test
    void weightedCombinationFollowsPeft() {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = TestModels.randomBert(m, 1)) {
            LoraModel lora = LoraModel.create(model.module(), QV, "bert", 1);
            perturb(lora, "default", 2);
            lora.addAdapter(QV.toBuilder().adapterName("b").alpha(4).build(), 3);
            perturb(lora, "b", 4);
            lora.addWeightedAdapter(List.of("default", "b"), List.of(0.7, -0.4), "lin", LoraModel.Combination.LINEAR);
            lora.addWeightedAdapter(List.of("default", "b"), List.of(0.7, -0.4), "cat", LoraModel.Combination.CAT);
            LoraLinear l = (LoraLinear) model.module().find("encoder.layer.1.attention.self.value");
            double wa = 0.7 * 2; // weight * scaling (8/4)
            double wb = -0.4 * 1; // (4/4)
            NDArray expectA = l.loraA("default").weight().mul((float) Math.sqrt(wa)).add(l.loraA("b").weight().mul((float) -Math.sqrt(-wb)));
            NDArray expectB = l.loraB("default").weight().mul((float) Math.sqrt(wa)).add(l.loraB("b").weight().mul((float) Math.sqrt(-wb)));
            assertThat(l.spec("lin").r()).isEqualTo(4);
            assertThat(l.spec("lin").scaling()).isEqualTo(1.0);
            assertThat(TestModels.maxAbsDiff(l.loraA("lin").weight(), expectA)).isLessThan(1e-6f);
            assertThat(TestModels.maxAbsDiff(l.loraB("lin").weight(), expectB)).isLessThan(1e-6f);
            // cat is exact: delta = 0.7 delta_default - 0.4 delta_b
            assertThat(l.spec("cat").r()).isEqualTo(8);
            NDArray exact = l.deltaWeight("default").mul(0.7f).add(l.deltaWeight("b").mul(-0.4f));
            assertThat(TestModels.maxAbsDiff(l.deltaWeight("cat"), exact)).isLessThan(1e-6f);
            assertThatThrownBy(() -> lora.addWeightedAdapter(List.of("default", "cat"), List.of(1.0, 1.0), "x", LoraModel.Combination.LINEAR))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("one rank").hasMessageContaining("[4, 8]");
        }
    }

    @Test
    void mergeAndUnloadGivesAPlainModelThatSavesAndLoadsAsAnOrdinaryHfDirectory(@TempDir Path dir) {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = TestModels.randomBert(m, 1)) {
            List<String> names = List.copyOf(model.module().namedParameters().keySet());
            LoraModel lora = LoraModel.create(model.module(), QV.toBuilder().useDora(true).build(), "bert", 1);
            perturb(lora, "default", 2);
            NDArray adapted = out(model, m);
            Module plain = lora.mergeAndUnload();
            assertThat(plain.namedParameters().keySet()).containsExactlyElementsOf(names);
            assertThat(plain.namedModules().values()).noneMatch(x -> x instanceof LoraLinear);
            assertThat(TestModels.maxAbsDiff(out(model, m), adapted)).isLessThan(1e-5f);
            Models.save(model, dir);
            try (TransformerModel reloaded = Models.load(dir, Device.cpu())) {
                ModelInput batch = TestModels.batch(m);
                NDArray again = reloaded.forward(batch, ForwardContext.inference(m)).lastHiddenState();
                assertThat(TestModels.maxAbsDiff(again, adapted)).isLessThan(1e-5f);
            }
            assertThatThrownBy(() -> lora.setActiveAdapter("default")).isInstanceOf(Peft4jException.class).hasMessageContaining("unloaded");
        }
    }

    @Test
    @SuppressWarnings("try")
    void switchingWhileMergedIsRefusedAndDisableUnmergesForTheBlock() {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = TestModels.randomBert(m, 1)) {
            NDArray base = out(model, m);
            LoraModel lora = LoraModel.create(model.module(), QV, "bert", 1);
            perturb(lora, "default", 2);
            lora.addAdapter(QV.toBuilder().adapterName("b").build(), 3);
            NDArray adapted = out(model, m);
            lora.merge();
            assertThatThrownBy(() -> lora.setActiveAdapter("b")).isInstanceOf(Peft4jException.class).hasMessageContaining("unmerge first");
            try (LoraModel.AdaptersDisabled off = lora.disableAdapters()) {
                assertThat(lora.isMerged()).isFalse();
                assertThat(TestModels.maxAbsDiff(out(model, m), base)).isLessThan(1e-6f);
            }
            assertThat(lora.isMerged()).isTrue();
            assertThat(TestModels.maxAbsDiff(out(model, m), adapted)).isLessThan(1e-5f);
        }
    }

    @Test
    void adapterForAnotherBaseIsRefusedNamingTensorAndShapesAndNothingIsApplied(@TempDir Path dir) {
        try (NDManager m = NDManager.newBaseManager(); BertModel small = TestModels.randomBert(m, 1);
                BertModel wide = BertModel.random(BertConfig.of(50, 32, 2, 2, 24, 32), m, 1);
                BertModel shallow = BertModel.random(BertConfig.of(50, 16, 1, 2, 24, 32), m, 1)) {
            LoraModel.create(small.module(), QV, "bert", 1).save(dir, TestModels.FILES);
            for (BertModel target : List.of(wide, shallow)) {
                Map<String, NDArray> before = new LinkedHashMap<>();
                target.module().namedParameters().forEach((k, p) -> before.put(k, p.value()));
                NDArray out = out(target, m);
                LoraModel lora = new LoraModel(target.module(), "bert");
                if (target == wide) {
                    assertThatThrownBy(() -> lora.loadAdapter(dir, TestModels.FILES, "x"))
                            .isInstanceOf(Peft4jException.class)
                            .hasMessageContaining("nothing was applied")
                            .hasMessageContaining("'base_model.model.encoder.layer.0.attention.self.query.lora_A.weight' has shape (4, 16) but the model expects (4, 32)");
                } else {
                    assertThatThrownBy(() -> lora.loadAdapter(dir, TestModels.FILES, "x"))
                            .isInstanceOf(Peft4jException.class)
                            .hasMessageContaining("tensor 'base_model.model.encoder.layer.1.attention.self.query.lora_A.weight' (4, 16) has no counterpart");
                }
                assertThat(lora.adapterNames()).isEmpty();
                assertThat(target.module().namedParameters().keySet()).containsExactlyElementsOf(before.keySet());
                assertThat(target.module().namedModules().values()).noneMatch(x -> x instanceof LoraLinear);
                assertThat(TestModels.maxAbsDiff(out(target, m), out)).isZero();
            }
        }
    }

    @Test
    void loadIntoTheActiveAdapterRefusesAConfigWithOtherScaling(@TempDir Path dir) {
        try (NDManager m = NDManager.newBaseManager(); BertModel a = TestModels.randomBert(m, 1); BertModel b = TestModels.randomBert(m, 1)) {
            LoraModel.create(a.module(), QV.toBuilder().alpha(16).build(), "bert", 1).save(dir, TestModels.FILES);
            LoraModel other = LoraModel.create(b.module(), QV, "bert", 1);
            assertThatThrownBy(() -> other.load(dir, TestModels.FILES)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("adapter_config.json: lora_alpha is 16.0 but the active adapter 'default' has 8.0");
        }
    }

    @Test
    void loadStateDictChecksEverythingBeforeApplyingAnything() {
        try (NDManager m = NDManager.newBaseManager(); BertModel model = TestModels.randomBert(m, 1)) {
            LoraModel lora = LoraModel.create(model.module(), QV, "bert", 1);
            Map<String, NDArray> state = new LinkedHashMap<>();
            lora.stateDict().forEach((k, v) -> state.put(k, v.add(1f)));
            String last = List.copyOf(state.keySet()).get(state.size() - 1);
            state.put(last, m.zeros(new ai.djl.ndarray.types.Shape(3, 3)));
            Map<String, float[]> before = new LinkedHashMap<>();
            lora.stateDict().forEach((k, v) -> before.put(k, v.toFloatArray()));
            assertThatThrownBy(() -> lora.loadStateDict(state)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining(last).hasMessageContaining("(3, 3)").hasMessageContaining("(16, 4)");
            lora.stateDict().forEach((k, v) -> assertThat(v.toFloatArray()).as(k).containsExactly(before.get(k)));
        }
    }

    /** r=8 on query,value: 6 x 2 x 8 x (384 + 384) = 73,728 (all-MiniLM-L6-v2) and 147,456 for 12 layers (bge-small). */
    @Test
    void exactTrainableCountsForMiniLmAndBgeSmallShapes() {
        LoraConfig r8 = LoraConfig.builder().r(8).alpha(8).targetModules("query", "value").build();
        long[][] expected = {{6, 73_728}, {12, 147_456}};
        for (long[] row : expected) {
            try (NDManager m = NDManager.newBaseManager();
                    BertModel model = new BertModel(BertConfig.of(30522, 384, (int) row[0], 12, 1536, 512).toModelConfig("<MiniLM/bge-small shape>"), m, true)) {
                long total = model.module().parameterCount();
                LoraModel.create(model.module(), r8, "bert", 1);
                assertThat(model.module().trainableParameterCount()).isEqualTo(row[1]);
                assertThat(model.module().parameterCount()).isEqualTo(total + row[1]);
                String line = LoraSummary.line(model.module());
                System.out.println(row[0] + " layers: " + line);
                assertThat(line).startsWith("trainable: " + row[1] + " / total: " + (total + row[1]) + " (");
            }
        }
    }

    @Test
    void summaryLineFormat() {
        assertThat(LoraSummary.line(73_728, 22_786_176)).isEqualTo("trainable: 73728 / total: 22786176 (0.3236%)");
    }
}
