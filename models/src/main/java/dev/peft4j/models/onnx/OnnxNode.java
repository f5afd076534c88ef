package dev.peft4j.models.onnx;

import java.util.List;
import java.util.Map;

/**
 * One graph node ({@code NodeProto}: input=1, output=2, name=3, op_type=4, attribute=5, domain=7).
 * An empty input name means an omitted optional input.
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs,
        Map<String, OnnxAttribute> attributes) {
    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(attributes));
    }

    public OnnxAttribute attribute(String attributeName) {
        return attributes.get(attributeName);
    }

    @Override
    public String toString() {
        return opType + " '" + name + "' " + inputs + " -> " + outputs;
    }
}
