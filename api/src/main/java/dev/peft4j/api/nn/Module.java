package dev.peft4j.api.nn;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.peft4j.api.Peft4jException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * A node of the module tree. A module owns local {@link Parameter}s and named child modules, both
 * in insertion order, and computes {@link #forward}. Paths and parameter names are HuggingFace's
 * dotted names; they never carry DJL's numbered block prefixes.
 *
 * <p>A parent must look its children up by name at forward time ({@link #child(String)}), never
 * cache them in fields used by {@code forward}: that is what lets an adapter method
 * {@link #replace replace or wrap} any module in place.
 */
public abstract class Module {
    private final ModuleType type;
    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();

    protected Module(ModuleType type) {
        this.type = requireNonNull(type, "type is null");
    }

    public final ModuleType type() {
        return type;
    }

    /** Computes this module's output. Inputs and outputs are module-specific and documented per class. */
    public abstract NDList forward(NDList inputs, ForwardContext context);

    /** Single-tensor convenience for modules that map one tensor to one tensor. */
    public NDArray forward(NDArray input, ForwardContext context) {
        return forward(new NDList(input), context).singletonOrThrow();
    }

    // ---- construction ------------------------------------------------------------------------

    protected final Parameter addParameter(String name, NDArray value, boolean trainable) {
        checkLocalName(name);
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("duplicate name '" + name + "' in " + getClass().getSimpleName());
        }
        value.setName(name);
        Parameter parameter = new Parameter(name, value, trainable);
        parameters.put(name, parameter);
        return parameter;
    }

    protected final <M extends Module> M addChild(String name, M child) {
        checkLocalName(name);
        requireNonNull(child, "child is null");
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("duplicate name '" + name + "' in " + getClass().getSimpleName());
        }
        children.put(name, child);
        return child;
    }

    /**
     * Adds a module that an adapter method contributes (PEFT's {@code prompt_encoder}): it joins the tree,
     * so its parameters are counted, trained when trainable, checkpointed and saved with the rest. A parent
     * looks its children up by name at forward time, so a module no forward asks for is not run by the
     * tree: the method runs it (for prompt learning, from a {@link dev.peft4j.api.model.ForwardHook}).
     *
     * @throws IllegalArgumentException if the name is taken or not a local name
     */
    public final <M extends Module> M addAdapterModule(String name, M module) {
        return addChild(name, module);
    }

    /** Removes a module added by {@link #addAdapterModule} (a method's {@code unload}); returns it. */
    public final Module removeAdapterModule(String name) {
        Module removed = children.remove(name);
        if (removed == null) {
            throw new IllegalArgumentException("no child '" + name + "' in " + getClass().getSimpleName() + "; children are " + children.keySet());
        }
        return removed;
    }

    private static void checkLocalName(String name) {
        requireNonNull(name, "name is null");
        if (name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("local name must be non-empty and contain no dot: '" + name + "'");
        }
    }

    // ---- local access ------------------------------------------------------------------------

    /** This module's own parameters, by local name, in declaration order. */
    public final Map<String, Parameter> localParameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /** This module's direct children, by local name, in declaration order. */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    public final Parameter parameter(String name) {
        Parameter parameter = parameters.get(name);
        if (parameter == null) {
            throw new Peft4jException(getClass().getSimpleName() + " has no parameter '" + name + "'; it has " + parameters.keySet());
        }
        return parameter;
    }

    public final Optional<Parameter> optionalParameter(String name) {
        return Optional.ofNullable(parameters.get(name));
    }

    public final Module child(String name) {
        Module child = children.get(name);
        if (child == null) {
            throw new Peft4jException(getClass().getSimpleName() + " has no child '" + name + "'; it has " + children.keySet());
        }
        return child;
    }

    public final boolean hasChild(String name) {
        return children.containsKey(name);
    }

    // ---- tree access -------------------------------------------------------------------------

    /** Every descendant by dotted path (this module itself excluded), depth-first, declaration order. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        for (Map.Entry<String, Module> e : children.entrySet()) {
            String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            out.put(path, e.getValue());
            e.getValue().collectModules(path, out);
        }
    }

    /** Every parameter in the subtree by full dotted name, depth-first, declaration order. */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collectParameters("", out);
        return Collections.unmodifiableMap(out);
    }

    private void collectParameters(String prefix, Map<String, Parameter> out) {
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            out.put(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue());
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().collectParameters(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), out);
        }
    }

    /** Trainable parameters of the subtree, by full name. */
    public final Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        namedParameters().forEach((k, p) -> {
            if (p.trainable()) {
                out.put(k, p);
            }
        });
        return Collections.unmodifiableMap(out);
    }

    /** The module at a dotted path below this one ({@code ""} is this module). */
    public final Module find(String path) {
        requireNonNull(path, "path is null");
        if (path.isEmpty()) {
            return this;
        }
        Module current = this;
        String walked = "";
        for (String part : path.split("\\.", -1)) {
            Module next = current.children.get(part);
            if (next == null) {
                throw new Peft4jException("no module at path '" + path + "': '" + (walked.isEmpty() ? "<root>" : walked)
                        + "' has children " + current.children.keySet());
            }
            walked = walked.isEmpty() ? part : walked + "." + part;
            current = next;
        }
        return current;
    }

    /**
     * Replaces the module at {@code path} with {@code replacer.apply(old)}; returns the old one.
     * Wrapping is replacement by a module that holds the old one as a child.
     */
    public final Module replace(String path, UnaryOperator<Module> replacer) {
        requireNonNull(replacer, "replacer is null");
        int dot = path.lastIndexOf('.');
        Module parent = dot < 0 ? this : find(path.substring(0, dot));
        String name = dot < 0 ? path : path.substring(dot + 1);
        Module old = parent.child(name);
        Module replacement = requireNonNull(replacer.apply(old), "replacement module is null");
        parent.children.put(name, replacement);
        return old;
    }

    public final long parameterCount() {
        return namedParameters().values().stream().mapToLong(Parameter::size).sum();
    }

    public final long trainableParameterCount() {
        return namedParameters().values().stream().filter(Parameter::trainable).mapToLong(Parameter::size).sum();
    }

    /** Sets the trainable flag of every parameter in the subtree. */
    public final void setTrainable(boolean trainable) {
        namedParameters().values().forEach(p -> p.setTrainable(trainable));
    }

    /**
     * A human-readable tree: one line per module with its type and, for parameters, their shapes
     * and counts. Used by {@code peft4j inspect}.
     */
    public final List<String> describe() {
        List<String> lines = new ArrayList<>();
        describe("", 0, lines);
        return lines;
    }

    private void describe(String path, int depth, List<String> lines) {
        String indent = "  ".repeat(depth);
        long count = parameterCount();
        lines.add(indent + (path.isEmpty() ? "<root>" : path.substring(path.lastIndexOf('.') + 1)) + " (" + type + ", "
                + getClass().getSimpleName() + ") params=" + count + extraDescription());
        for (Parameter p : parameters.values()) {
            lines.add(indent + "  ." + p.name() + " " + p.shape() + " " + p.size() + (p.trainable() ? " trainable" : " frozen"));
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().describe(path.isEmpty() ? e.getKey() : path + "." + e.getKey(), depth + 1, lines);
        }
    }

    /** Extra text after a module's line in {@link #describe()} (e.g. {@code in=384 out=384}). */
    protected String extraDescription() {
        return "";
    }
}
