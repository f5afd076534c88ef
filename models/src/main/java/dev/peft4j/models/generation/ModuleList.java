package dev.peft4j.models.generation;

import ai.djl.ndarray.NDList;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import java.util.List;

/** A numbered list of children ({@code layers.0}, {@code layers.1}, ...), like {@code torch.nn.ModuleList}. Has no forward. */
public final class ModuleList extends Module {
    public ModuleList(List<? extends Module> modules) {
        super(ModuleType.CONTAINER);
        for (int i = 0; i < modules.size(); i++) {
            addChild(Integer.toString(i), modules.get(i));
        }
    }

    public int size() {
        return children().size();
    }

    /** Looked up by name at call time, so a replaced child is seen. */
    public Module get(int index) {
        return child(Integer.toString(index));
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        throw new Peft4jException("a ModuleList has no forward pass; its parent calls the children in order");
    }
}
