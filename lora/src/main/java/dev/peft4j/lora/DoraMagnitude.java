package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;

/**
 * DoRA's magnitude vector for one adapter (PEFT's {@code DoraLinearLayer}): parameter {@code weight [out]},
 * the per-output-feature norm the adapted weight is rescaled to. Saved by PEFT as
 * {@code <path>.lora_magnitude_vector} (without {@code .weight}).
 */
final class DoraMagnitude extends Module {
    DoraMagnitude(NDArray magnitude) {
        super(ModuleType.ADAPTER);
        addParameter("weight", magnitude, true);
    }

    NDArray weight() {
        return parameter("weight").value();
    }

    @Override
    public NDList forward(NDList inputs, ForwardContext context) {
        throw new UnsupportedOperationException("the DoRA magnitude is applied by LoraLinear");
    }
}
