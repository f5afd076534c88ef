package dev.peft4j.lora;

import ai.djl.ndarray.NDList;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * PEFT's {@code nn.ModuleDict} keyed by adapter name: {@code lora_A.default}, {@code lora_A.other}. It has
 * no forward pass of its own; {@link LoraLinear} picks the active adapter's child.
 */
final class AdapterDict extends Module {
    AdapterDict() {
        super(ModuleType.CONTAINER);
    }

    <M extends Module> M put(String adapterName, M module) {
        return addChild(adapterName, module);
    }

    /** A copy without {@code adapterName} (the tree has no removal, so the owner replaces the whole dict). */
    AdapterDict without(String adapterName) {
        AdapterDict copy = new AdapterDict();
        children().forEach((name, m) -> {
            if (!name.equals(adapterName)) {
                copy.put(name, m);
            }
        });
        return copy;
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        throw new UnsupportedOperationException("an adapter dict has no forward pass; use its children");
    }
}
