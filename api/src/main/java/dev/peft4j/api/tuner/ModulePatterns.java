package dev.peft4j.api.tuner;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.ConfigValueType;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.api.nn.Module;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A selection of modules or parameters with PEFT's {@code target_modules} rules (the shared tuner base: every
 * method, built-in or third-party, matches its targets through this class): a list whose entries
 * match a dotted name exactly or as a dotted suffix ({@code query} matches
 * {@code bert.encoder.layer.0.attention.self.query}), or one regular expression that must match the
 * whole name. A parameter is selected when its full name or the path of any module above it is.
 *
 * @param names the list form (null when a regex)
 * @param regex the regex form (null when a list)
 */
public record ModulePatterns(List<String> names, String regex) {
    public ModulePatterns {
        if ((names == null) == (regex == null)) {
            throw new IllegalArgumentException("exactly one of names and regex must be set");
        }
        names = names == null ? null : List.copyOf(names);
    }

    public static ModulePatterns none() {
        return new ModulePatterns(List.of(), null);
    }

    public static ModulePatterns names(String... names) {
        return new ModulePatterns(List.of(names), null);
    }

    public static ModulePatterns regex(String regex) {
        return new ModulePatterns(null, requireNonNull(regex, "regex is null"));
    }

    public boolean isEmpty() {
        return names != null && names.isEmpty();
    }

    /** Reads a list or regex string at {@code key}; a bad form or regex is recorded as a problem. */
    public static ModulePatterns read(ConfigReader reader, String key) {
        ConfigValueType type = reader.valueType(key).orElse(null);
        if (type == ConfigValueType.STRING) {
            String regex = reader.string(key);
            if (regex.isEmpty()) {
                reader.problem(key, "is an empty string, expected a list of module names or a regular expression");
                return none();
            }
            try {
                Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                reader.problem(key, "'" + regex + "' is not a valid regular expression: " + e.getDescription());
                return none();
            }
            return regex(regex);
        }
        List<String> names = reader.stringList(key);
        for (String n : names) {
            if (n.isEmpty() || n.startsWith(".") || n.endsWith(".")) {
                reader.problem(key, "entry '" + n + "' is not a module or parameter name");
            }
        }
        return new ModulePatterns(names, null);
    }

    /** Whether the single dotted name matches (exact or dotted suffix; regex: whole-name match). */
    public boolean matchesName(String name) {
        if (regex != null) {
            return Pattern.compile(regex).matcher(name).matches();
        }
        return names.stream().anyMatch(n -> matchesEntry(n, name));
    }

    /** PEFT's list rule: {@code name} is {@code entry} or ends with {@code "." + entry}. */
    public static boolean matchesEntry(String entry, String name) {
        return name.equals(entry) || name.endsWith("." + entry);
    }

    /** Whether the parameter {@code fullName} or any module path above it matches. */
    boolean selectsParameter(String fullName) {
        for (String candidate : selfAndAncestors(fullName)) {
            if (matchesName(candidate)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The full parameter names of {@code root} that are selected, in tree order. Every list entry (or
     * the regex) must select something, otherwise throws naming {@code key} and the modules that exist.
     */
    public Set<String> selectedParameters(Module root, String key) {
        Set<String> out = new LinkedHashSet<>();
        List<String> unmatched = names == null ? new ArrayList<>() : new ArrayList<>(names);
        for (String name : root.namedParameters().keySet()) {
            for (String candidate : selfAndAncestors(name)) {
                if (regex != null) {
                    if (Pattern.compile(regex).matcher(candidate).matches()) {
                        out.add(name);
                    }
                } else {
                    for (String n : names) {
                        if (matchesEntry(n, candidate)) {
                            out.add(name);
                            unmatched.remove(n);
                        }
                    }
                }
            }
        }
        if (regex != null && out.isEmpty()) {
            throw new Peft4jException(key + " regex '" + regex + "' matches no module path or parameter name. " + describe(root));
        }
        if (!unmatched.isEmpty()) {
            throw new Peft4jException(key + " entries " + unmatched + " match no module path or parameter name. " + describe(root));
        }
        return out;
    }

    /**
     * The paths of the modules under {@code root} this selection matches, in tree order, for a method that adapts
     * modules of one kind (PEFT's {@code check_target_module_exists} plus its errors). Checks everything and changes
     * nothing. Errors name the method and the key, and list module names that do exist.
     *
     * @param kind which matched modules the method can adapt
     * @param kindName what {@code kind} accepts, for messages ({@code "Linear"}, {@code "LayerNorm/RMSNorm"})
     * @param excluded paths never considered (a method's own internals)
     * @throws Peft4jException when a matched module is not of the kind, nothing matches, or a list entry matches nothing
     */
    public List<String> selectModules(Module root, String method, String key, Predicate<Module> kind, String kindName,
            Predicate<String> excluded) {
        List<String> out = new ArrayList<>();
        List<String> wrongKind = new ArrayList<>();
        List<String> unmatched = names == null ? new ArrayList<>() : new ArrayList<>(names);
        for (Map.Entry<String, Module> e : root.namedModules().entrySet()) {
            String path = e.getKey();
            if (excluded.test(path) || !matchesName(path)) {
                continue;
            }
            if (names != null) {
                unmatched.removeIf(n -> matchesEntry(n, path));
            }
            if (kind.test(e.getValue())) {
                out.add(path);
            } else {
                wrongKind.add(path + " (" + e.getValue().getClass().getSimpleName() + ")");
            }
        }
        if (!wrongKind.isEmpty()) {
            throw new Peft4jException("method " + method + ": " + key + " " + this + " matched modules that are not " + kindName + ": "
                    + wrongKind.subList(0, Math.min(6, wrongKind.size())) + (wrongKind.size() > 6 ? " and " + (wrongKind.size() - 6) + " more" : ""));
        }
        if (out.isEmpty()) {
            throw new Peft4jException("method " + method + ": " + key + " " + this + " matches no " + kindName + " module. " + describe(root));
        }
        if (!unmatched.isEmpty()) {
            throw new Peft4jException("method " + method + ": " + key + " entries " + unmatched + " match no module. " + describe(root));
        }
        return List.copyOf(out);
    }

    /** {@code a.b.c} gives {@code a.b.c}, {@code a.b}, {@code a}. */
    private static List<String> selfAndAncestors(String name) {
        List<String> out = new ArrayList<>();
        String current = name;
        out.add(current);
        int dot;
        while ((dot = current.lastIndexOf('.')) > 0) {
            current = current.substring(0, dot);
            out.add(current);
        }
        return out;
    }

    public static String describe(Module root) {
        Set<String> lastNames = new LinkedHashSet<>();
        Map<String, Module> modules = root.namedModules();
        modules.keySet().forEach(p -> lastNames.add(p.substring(p.lastIndexOf('.') + 1)));
        List<String> examples = new ArrayList<>(modules.keySet()).subList(0, Math.min(6, modules.size()));
        return "Module names in this model: " + lastNames + "; for example " + examples;
    }

    @Override
    public String toString() {
        return regex != null ? "'" + regex + "'" : names.toString();
    }
}
