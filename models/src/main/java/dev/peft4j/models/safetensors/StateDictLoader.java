package dev.peft4j.models.safetensors;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Strict loading of a safetensors state dict into a {@link Module} tree: every parameter must
 * receive a tensor of its exact shape and every tensor must land in a parameter, or nothing is
 * changed and one {@link Peft4jException} lists all the problems.
 *
 * <p>Each loaded tensor replaces the parameter's value ({@link Parameter#setValue}), converted to
 * the parameter's dtype, on the parameter's manager; the trainable flag carries over. Parameters
 * that share one NDArray (tied weights) are not kept tied by this: tie them after loading.
 */
public final class StateDictLoader {
    private StateDictLoader() {}

    /**
     * Loads {@code file} into {@code root}.
     *
     * @param renames maps a tensor name in the file to the parameter name in the tree. A key that
     *     ends with {@code '.'} renames a prefix ({@code "bert." -> ""} strips {@code bert.});
     *     exact keys win over prefixes, and the longest prefix wins among prefixes.
     * @param ignoreMissing parameter names that may be absent from the file (e.g. a tied
     *     {@code lm_head.weight}); they keep their current value.
     */
    public static void loadStrict(Module root, SafetensorsFile file, Map<String, String> renames, Set<String> ignoreMissing) {
        loadStrict(root, file, renames, ignoreMissing, Set.of());
    }

    /**
     * As {@link #loadStrict(Module, SafetensorsFile, Map, Set)}, also skipping the file tensors
     * (by their name in the file) listed in {@code ignoreUnexpected}, e.g. a pooler the model does
     * not build or rotary {@code inv_freq} buffers.
     */
    public static void loadStrict(Module root, SafetensorsFile file, Map<String, String> renames, Set<String> ignoreMissing,
            Set<String> ignoreUnexpected) {
        requireNonNull(root, "root is null");
        requireNonNull(file, "file is null");
        requireNonNull(renames, "renames is null");
        requireNonNull(ignoreMissing, "ignoreMissing is null");
        requireNonNull(ignoreUnexpected, "ignoreUnexpected is null");

        Map<String, Parameter> parameters = root.namedParameters();
        Map<String, String> targetToTensor = new LinkedHashMap<>();
        List<String> unexpected = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        List<String> collisions = new ArrayList<>();
        for (String tensor : file.names()) {
            if (ignoreUnexpected.contains(tensor)) {
                continue;
            }
            String target = rename(tensor, renames);
            TensorEntry entry = file.entry(tensor);
            Parameter parameter = parameters.get(target);
            String shown = tensor.equals(target) ? tensor : tensor + " (as " + target + ")";
            if (parameter == null) {
                unexpected.add(shown + " " + entry.djlShape());
                continue;
            }
            String earlier = targetToTensor.putIfAbsent(target, tensor);
            if (earlier != null) {
                collisions.add(target + " <- both " + earlier + " and " + tensor);
                continue;
            }
            if (!entry.djlShape().equals(parameter.shape())) {
                mismatched.add(shown + ": file " + entry.djlShape() + " vs model " + parameter.shape());
            }
        }
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Parameter> p : parameters.entrySet()) {
            if (!targetToTensor.containsKey(p.getKey()) && !ignoreMissing.contains(p.getKey())) {
                missing.add(p.getKey() + " " + p.getValue().shape());
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !mismatched.isEmpty() || !collisions.isEmpty()) {
            StringBuilder m = new StringBuilder("cannot load ").append(file.path()).append(" into ")
                    .append(root.getClass().getSimpleName()).append(" (").append(parameters.size()).append(" parameters, ")
                    .append(file.names().size()).append(" tensors):");
            section(m, "missing from the file", missing);
            section(m, "unexpected in the file", unexpected);
            section(m, "shape mismatches", mismatched);
            section(m, "several tensors for one parameter", collisions);
            throw new Peft4jException(m.toString());
        }

        for (Map.Entry<String, String> e : targetToTensor.entrySet()) {
            Parameter parameter = parameters.get(e.getKey());
            NDArray current = parameter.value();
            NDArray loaded = file.load(e.getValue(), current.getManager());
            if (loaded.getDataType() != current.getDataType()) {
                NDArray converted = loaded.toType(current.getDataType(), false);
                loaded.close();
                loaded = converted;
            }
            if (!loaded.getDevice().equals(current.getDevice())) {
                NDArray moved = loaded.toDevice(current.getDevice(), false);
                loaded.close();
                loaded = moved;
            }
            loaded.setName(parameter.name());
            parameter.setValue(loaded);
        }
    }

    private static void section(StringBuilder m, String title, List<String> lines) {
        if (lines.isEmpty()) {
            return;
        }
        m.append("\n  ").append(lines.size()).append(' ').append(title).append(':');
        for (String line : lines) {
            m.append("\n    ").append(line);
        }
    }

    static String rename(String tensor, Map<String, String> renames) {
        String exact = renames.get(tensor);
        if (exact != null) {
            return exact;
        }
        String bestKey = null;
        for (String key : renames.keySet()) {
            if (key.endsWith(".") && tensor.startsWith(key) && (bestKey == null || key.length() > bestKey.length())) {
                bestKey = key;
            }
        }
        return bestKey == null ? tensor : renames.get(bestKey) + tensor.substring(bestKey.length());
    }
}
