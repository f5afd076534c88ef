package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PEFT's {@code modules_to_save} per adapter, without changing the tree's names: the module keeps its path
 * ({@code classifier.weight}) and holds the values of the adapter that is live; the other adapters' values
 * and the original values are kept as copies and swapped in when the active adapter changes (PEFT keeps one
 * module copy per adapter in a {@code ModulesToSaveWrapper} instead).
 */
final class ModulesToSave {
    private final Module root;
    /** Original values of every parameter any adapter saves, by full name. */
    private final Map<String, NDArray> original = new LinkedHashMap<>();
    /** Per adapter: the module paths it saves. */
    private final Map<String, List<String>> paths = new LinkedHashMap<>();
    /** Per adapter that is not live: its values by full parameter name. */
    private final Map<String, Map<String, NDArray>> stored = new LinkedHashMap<>();
    private String live;

    ModulesToSave(Module root) {
        this.root = root;
    }

    List<String> paths(String adapter) {
        return paths.getOrDefault(adapter, List.of());
    }

    /** Parameters under {@code adapter}'s saved modules, by full name (the live tree objects). */
    Map<String, Parameter> parameters(String adapter) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (String path : paths(adapter)) {
            root.find(path).namedParameters().forEach((name, p) -> out.put(path + "." + name, p));
        }
        return out;
    }

    /** Starts tracking {@code adapter}'s modules; its values start as the original ones (PEFT copies the module). */
    void register(String adapter, List<String> modulePaths) {
        if (modulePaths.isEmpty()) {
            return;
        }
        paths.put(adapter, List.copyOf(modulePaths));
        Map<String, NDArray> values = new LinkedHashMap<>();
        parameters(adapter).forEach((name, p) -> {
            original.computeIfAbsent(name, n -> copy(p.value()));
            values.put(name, copy(original.get(name)));
        });
        stored.put(adapter, values);
    }

    /** The value of a saved parameter for {@code adapter} (live or stored). */
    NDArray value(String adapter, String name) {
        return adapter.equals(live) ? parameters(adapter).get(name).value() : stored.get(adapter).get(name);
    }

    void setValue(String adapter, String name, NDArray value) {
        if (adapter.equals(live)) {
            parameters(adapter).get(name).setValue(value);
        } else {
            NDArray old = stored.get(adapter).put(name, value);
            if (old != null && old != value) {
                old.close();
            }
        }
    }

    /** Makes {@code adapter}'s values live (null: the original values). */
    void activate(String adapter) {
        if (adapter == null ? live == null : adapter.equals(live)) {
            return;
        }
        if (live != null) {
            Map<String, NDArray> keep = new LinkedHashMap<>();
            parameters(live).forEach((name, p) -> keep.put(name, copy(p.value())));
            stored.put(live, keep);
        }
        Map<String, NDArray> target = adapter == null ? null : stored.remove(adapter);
        Map<String, Parameter> all = new LinkedHashMap<>();
        for (String a : paths.keySet()) {
            all.putAll(parameters(a));
        }
        all.forEach((name, p) -> {
            NDArray v = target != null && target.containsKey(name) ? target.get(name) : copy(original.get(name));
            p.setValue(v);
        });
        if (target != null) {
            target.forEach((name, v) -> {
                if (!all.containsKey(name)) {
                    v.close();
                }
            });
        }
        live = adapter;
    }

    void remove(String adapter) {
        if (adapter.equals(live)) {
            activate(null);
        }
        Map<String, NDArray> values = stored.remove(adapter);
        if (values != null) {
            values.values().forEach(NDArray::close);
        }
        paths.remove(adapter);
    }

    /** Forgets everything, leaving the live values in the tree (unload keeps the active adapter's modules, as PEFT). */
    void clear() {
        stored.values().forEach(m -> m.values().forEach(NDArray::close));
        stored.clear();
        original.values().forEach(NDArray::close);
        original.clear();
        paths.clear();
        live = null;
    }

    List<String> adapters() {
        return new ArrayList<>(paths.keySet());
    }

    private static NDArray copy(NDArray v) {
        NDArray detached = v.stopGradient(); // shares storage; the clone below owns its memory
        NDArray c = detached.duplicate();
        detached.close();
        return c;
    }
}
