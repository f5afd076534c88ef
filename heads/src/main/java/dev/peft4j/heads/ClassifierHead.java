package dev.peft4j.heads;

import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.TaskHead;
import java.util.Map;

/**
 * What the heads with {@code dropout} + {@code classifier} modules share: the modules they add, their
 * config, and the rule that once bound they look their modules up by name at the task model's root
 * (a method may have wrapped them, e.g. LoRA's {@code modules-to-save}).
 */
abstract class ClassifierHead implements TaskHead {
    private final ClassifierModules modules;
    protected final HeadConfig config;
    private Module root;

    ClassifierHead(ClassifierModules modules, HeadConfig config) {
        this.modules = modules;
        this.config = config;
    }

    @Override
    public final Map<String, Module> modules() {
        return modules.modules();
    }

    @Override
    public final void bind(Module root) {
        this.root = root;
    }

    /** The module by name at the task model's root once bound, else our own. */
    protected final Module module(String name) {
        return root != null ? root.child(name) : modules.modules().get(name);
    }

    @Override
    public final int numLabels() {
        return config.numLabels();
    }
}
