package dev.peft4j.api.spi;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.nn.Parameter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** What an adapter method did to a model, and how to save, load, merge or undo it. */
public interface Adaptation {
    /** The registered method name. */
    String method();

    /** Module paths (relative to the adapted root) the method changed, in tree order. */
    List<String> targetedModules();

    /** Exactly the parameters that now receive gradients, by full name under the root. */
    Map<String, Parameter> trainableParameters();

    /** The tensors {@link #save} writes, by the names it writes them under. */
    Map<String, NDArray> stateDict();

    /**
     * Loads state saved by {@link #save}. Validates every name and shape first; on any mismatch
     * throws naming the tensor and both shapes, and changes nothing.
     */
    void loadStateDict(Map<String, NDArray> state);

    /** Writes the adaptation (weights and its config) into {@code directory}. */
    void save(Path directory, TensorFiles files);

    /** Reads what {@link #save} wrote. Same all-or-nothing rule as {@link #loadStateDict}. */
    void load(Path directory, TensorFiles files);

    /**
     * Learning-rate scales and unfreezing stages of the trainable parameters (discriminative learning rates,
     * layer-wise decay, gradual unfreezing); by default every parameter trains at the base rate from the first update.
     */
    default ParameterSchedule parameterSchedule() {
        return ParameterSchedule.none();
    }

    default boolean canMerge() {
        return false;
    }

    /** Folds the adaptation into the base weights (only if {@link #canMerge()}). */
    default void merge() {
        throw new UnsupportedOperationException(method() + " cannot be merged");
    }

    default void unmerge() {
        throw new UnsupportedOperationException(method() + " cannot be unmerged");
    }

    /** Restores the original modules (merged or not, as left), removing the method's modules. */
    default void unload() {
        throw new UnsupportedOperationException(method() + " cannot be unloaded");
    }
}
