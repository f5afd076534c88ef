package dev.peft4j.api.tuner;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Validate-then-apply for a method's saved tensors (PEFT's {@code set_peft_model_state_dict} contract): every name and
 * shape is checked first and all problems are reported together; on any mismatch nothing changes. Then each value is
 * copied into its parameter as float32, torch-owned, on the parameter's manager.
 */
public final class StateDicts {
    private StateDicts() {}

    /**
     * @param params the method's parameters by saved key
     * @param state the tensors to load, by the same keys
     * @param source what the tensors came from (a file), for messages
     * @param what the model, for messages ({@code "this bottleneck model"})
     * @param unknownHint appended to the message of a key without a parameter ({@code " (no IA3 module at that path)"})
     */
    public static void load(Map<String, Parameter> params, Map<String, NDArray> state, String source, String what, String unknownHint) {
        requireNonNull(params, "params is null");
        requireNonNull(state, "state is null");
        List<String> problems = new ArrayList<>();
        state.forEach((key, v) -> {
            Parameter p = params.get(key);
            if (p == null) {
                problems.add("tensor '" + key + "' " + v.getShape() + " has no counterpart" + unknownHint);
            } else if (!p.shape().equals(v.getShape())) {
                problems.add("tensor '" + key + "' has shape " + v.getShape() + " but the model expects " + p.shape());
            }
        });
        params.forEach((key, p) -> {
            if (!state.containsKey(key)) {
                problems.add("tensor '" + key + "' " + p.shape() + " is missing");
            }
        });
        if (!problems.isEmpty()) {
            throw new Peft4jException(source + " does not fit " + what + " (nothing was applied): "
                    + String.join("; ", problems.subList(0, Math.min(5, problems.size()))) + (problems.size() > 5 ? "; and " + (problems.size() - 5) + " more" : ""));
        }
        params.forEach((key, p) -> {
            NDArray v = state.get(key);
            NDArray copy = v.getDataType() == DataType.FLOAT32 ? v.duplicate() : v.toType(DataType.FLOAT32, true);
            copy.attach(p.value().getManager());
            p.setValue(copy);
        });
    }
}
