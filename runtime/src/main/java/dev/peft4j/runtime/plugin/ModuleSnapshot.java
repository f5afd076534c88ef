package dev.peft4j.runtime.plugin;

import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape of a module tree before plugin code changes it: every module's children (by identity) and every
 * parameter's trainable flag. {@link #restore} puts the tree back as it was when that code fails, so a method
 * whose {@code apply} throws half-way leaves no wrapped layer, added module or unfrozen weight behind.
 * Parameter values are not copied (a method's {@code apply} adds modules and flips flags; it does not write
 * base weights), and a child the plugin removed comes back at the end of its parent's children.
 */
public final class ModuleSnapshot {
    private final Module root;
    private final Map<Module, Map<String, Module>> children = new IdentityHashMap<>();
    private final Map<Parameter, Boolean> trainable = new IdentityHashMap<>();

    private ModuleSnapshot(Module root) {
        this.root = root;
        for (Module m : root.namedModules().values()) {
            children.put(m, new LinkedHashMap<>(m.children()));
        }
        children.put(root, new LinkedHashMap<>(root.children()));
        root.namedParameters().values().forEach(p -> trainable.put(p, p.trainable()));
    }

    public static ModuleSnapshot of(Module root) {
        return new ModuleSnapshot(root);
    }

    /** Puts every recorded module's children and every recorded parameter's flag back. */
    public void restore() {
        for (Map.Entry<Module, Map<String, Module>> e : children.entrySet()) {
            Module m = e.getKey();
            Map<String, Module> before = e.getValue();
            for (String name : new ArrayList<>(m.children().keySet())) {
                if (!before.containsKey(name)) {
                    m.removeAdapterModule(name);
                }
            }
            for (Map.Entry<String, Module> c : before.entrySet()) {
                if (!m.hasChild(c.getKey())) {
                    m.addAdapterModule(c.getKey(), c.getValue());
                } else if (m.child(c.getKey()) != c.getValue()) {
                    m.replace(c.getKey(), ignored -> c.getValue());
                }
            }
        }
        trainable.forEach(Parameter::setTrainable);
    }

    /** True when the tree has the recorded modules and flags (what {@link #restore} guarantees). */
    public boolean matches() {
        Map<Module, Boolean> seen = new IdentityHashMap<>();
        for (Module m : root.namedModules().values()) {
            seen.put(m, true);
        }
        for (Map.Entry<Module, Map<String, Module>> e : children.entrySet()) {
            if (!e.getKey().children().equals(e.getValue())) {
                return false;
            }
        }
        List<Parameter> now = new ArrayList<>(root.namedParameters().values());
        return now.size() == trainable.size() && now.stream().allMatch(p -> trainable.containsKey(p) && trainable.get(p) == p.trainable());
    }
}
