package dev.peft4j.api.model;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.nn.ForwardContext;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** The {@link ForwardHook}s of one model, run in the order they were added. */
public final class ForwardHooks {
    private final List<ForwardHook> hooks = new CopyOnWriteArrayList<>();

    public void add(ForwardHook hook) {
        requireNonNull(hook, "hook is null");
        if (hooks.contains(hook)) {
            throw new IllegalStateException("hook already added: " + hook);
        }
        hooks.add(hook);
    }

    /** Whether the hook was there. */
    public boolean remove(ForwardHook hook) {
        return hooks.remove(hook);
    }

    public boolean isEmpty() {
        return hooks.isEmpty();
    }

    public List<ForwardHook> list() {
        return List.copyOf(hooks);
    }

    /** Runs every hook; models call this first in {@code forward}. */
    public void run(ModelInput input, ForwardContext context) {
        for (ForwardHook hook : hooks) {
            hook.beforeForward(input, context);
        }
    }
}
