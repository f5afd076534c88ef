package dev.peft4j.lora;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PEFT's {@code add_weighted_adapter} for {@link LoraModel#addWeightedAdapter}: a new adapter whose update is a weighted
 * combination of existing ones ({@link LoraModel.Combination#LINEAR} or {@link LoraModel.Combination#CAT}). Split out of
 * {@code LoraModel} with the adapter lifecycle left there; the new adapter is added through the model's own
 * {@code addAdapter}, then its A and B are overwritten.
 */
final class LoraWeightedCombination {
    private LoraWeightedCombination() {}

    static void add(LoraModel model, List<String> adapters, List<Double> weights, String newName, LoraModel.Combination combination) {
        requireNonNull(adapters, "adapters is null");
        requireNonNull(weights, "weights is null");
        requireNonNull(combination, "combination is null");
        if (adapters.isEmpty() || adapters.size() != weights.size()) {
            throw new Peft4jException("add-weighted-adapter needs as many weights as adapters, got " + adapters + " and " + weights);
        }
        List<LoraConfig> sources = new ArrayList<>();
        for (String a : adapters) {
            LoraConfig c = model.requireAdapter(a);
            if (c.useDora()) {
                throw new Peft4jException("adapter '" + a + "' is a DoRA adapter; weighted combination supports plain LoRA only");
            }
            sources.add(c);
        }
        if (adapters.size() == 1) {
            combination = LoraModel.Combination.LINEAR;
        }
        List<Integer> ranks = sources.stream()
                .map(c -> c.rankPattern().isEmpty() ? c.r() : Math.max(c.r(), Collections.max(c.rankPattern().values()))).toList();
        int newRank;
        if (combination == LoraModel.Combination.LINEAR) {
            if (new LinkedHashSet<>(ranks).size() != 1 || sources.stream().anyMatch(c -> !c.rankPattern().isEmpty())) {
                throw new Peft4jException("combination 'linear' needs adapters of one rank, got ranks " + ranks + "; use 'cat'");
            }
            newRank = ranks.get(0);
        } else {
            newRank = ranks.stream().mapToInt(Integer::intValue).sum();
        }
        boolean regex = sources.get(0).targetModules() != null && sources.get(0).targetModules().isRegex()
                && !sources.get(0).targetModules().isAllLinear();
        LoraConfig.ModuleSelector newTargets;
        if (regex) {
            StringBuilder sb = new StringBuilder();
            for (LoraConfig c : sources) {
                if (c.targetModules() == null || !c.targetModules().isRegex()) {
                    throw new Peft4jException("all adapters must give target-modules the same way (all lists or all regular expressions)");
                }
                sb.append(sb.length() == 0 ? "" : "|").append('(').append(c.targetModules().regex()).append(')');
            }
            newTargets = LoraConfig.ModuleSelector.regex(sb.toString());
        } else {
            Set<String> names = new LinkedHashSet<>();
            for (String a : adapters) {
                names.addAll(model.targetsOf(a));
            }
            newTargets = LoraConfig.ModuleSelector.names(new ArrayList<>(names));
        }
        LoraConfig newConfig = sources.get(0).toBuilder().adapterName(newName).r(newRank).alpha(newRank).targetModules(newTargets)
                .rankPattern(Map.of()).alphaPattern(Map.of()).modulesToSave(List.of()).layersToTransform(null).build();
        model.addAdapter(newConfig, 0);
        for (String path : model.targetsOf(newName)) {
            LoraLinear lora = (LoraLinear) model.root().find(path);
            NDManager manager = lora.baseLayer().weight().getManager();
            NDArray newA;
            NDArray newB;
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray sumA = manager.zeros(lora.loraA(newName).weight().getShape(), DataType.FLOAT32);
                NDArray sumB = manager.zeros(lora.loraB(newName).weight().getShape(), DataType.FLOAT32);
                int offset = 0;
                for (int i = 0; i < adapters.size(); i++) {
                    String a = adapters.get(i);
                    if (!lora.adapterNames().contains(a)) {
                        continue;
                    }
                    double ws = weights.get(i) * lora.spec(a).scaling();
                    NDArray aw = lora.loraA(a).weight().stopGradient();
                    NDArray bw = lora.loraB(a).weight().stopGradient();
                    if (combination == LoraModel.Combination.LINEAR) {
                        double sq = Math.sqrt(Math.abs(ws));
                        sumA = sumA.add(aw.mul(constant(manager, ws >= 0 ? sq : -sq)));
                        sumB = sumB.add(bw.mul(constant(manager, sq)));
                    } else {
                        int r = lora.spec(a).r();
                        sumA.set(new ai.djl.ndarray.index.NDIndex(offset + ":" + (offset + r) + ", :"), aw.mul(constant(manager, ws)));
                        sumB.set(new ai.djl.ndarray.index.NDIndex(":, " + offset + ":" + (offset + r)), bw);
                        offset += r;
                    }
                }
                newA = sumA;
                newB = sumB;
                NDScope.unregister(newA, newB);
            }
            lora.loraA(newName).parameter("weight").setValue(newA);
            lora.loraB(newName).parameter("weight").setValue(newB);
        }
        model.refreshState();
    }

    private static NDArray constant(NDManager manager, double value) {
        return manager.full(new Shape(), (float) value, DataType.FLOAT32);
    }
}
