package dev.peft4j.runtime.config;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import dev.peft4j.api.config.ConfigProblem;
import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.runtime.plugin.ComponentKind;
import dev.peft4j.runtime.plugin.PluginRegistry;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Validates an experiment before any work starts, collecting every problem into one
 * {@link InvalidConfigException} (each with file and line):
 * <ol>
 *   <li>unknown keys (with a did-you-mean) and wrong types, by comparing the user's keys with the
 *       merged {@code reference.conf} files (Airlift's strict config: a key not declared in a
 *       reference.conf does not exist);</li>
 *   <li>component sections ({@code method}, {@code head}, {@code objectives[i]}, {@code data.<split>}, {@code tracking.<listener>}):
 *       the selector must name a registered factory (else the registered names are listed), and the
 *       factory's {@code parseConfig} gets the section's own keys over its defaults;</li>
 *   <li>host sections ({@code model}, {@code run}, {@code plugins}, and whatever other modules bind,
 *       such as {@code train}) are read by their {@link SettingsSection}s (ranges, cross-field checks).</li>
 * </ol>
 */
public final class ExperimentValidator {
    /** A component section: where, which kind, and the key that names the factory. */
    private record Spec(String path, ComponentKind kind, String selector, boolean required) {}

    private static final List<Spec> FIXED = List.of(
            new Spec("method", ComponentKind.ADAPTER_METHOD, "name", true),
            new Spec("head", ComponentKind.TASK_HEAD, "name", false));
    private static final String OBJECTIVES = "objectives";
    /** The host's own key in each objectives element: the objective's factor in the training loss (default 1). */
    public static final String OBJECTIVE_WEIGHT = "weight";
    /** Run listeners: {@code tracking.<listener name> { its keys }}; a section's presence turns its listener on. */
    public static final String TRACKING = "tracking";
    private static final String DATA = "data";
    private static final String DATA_SELECTOR = "format";
    private static final String DATA_ACTIVE = "path";

    private final PluginRegistry registry;
    private final List<SettingsSection<?>> sections;

    @Inject
    public ExperimentValidator(PluginRegistry registry, Set<SettingsSection<?>> sections) {
        this.registry = requireNonNull(registry, "registry is null");
        this.sections = List.copyOf(requireNonNull(sections, "sections is null"));
    }

    public PluginRegistry registry() {
        return registry;
    }

    /** Validates, or throws {@link InvalidConfigException} with every problem found. */
    public ValidatedExperiment validate(ExperimentConfig experiment) {
        requireNonNull(experiment, "experiment is null");
        Config reference;
        Config merged;
        Config user;
        try {
            reference = registry.reference().resolve();
            merged = experiment.userConfig().withFallback(registry.reference()).resolve();
            user = experiment.userConfig().resolveWith(merged);
        } catch (ConfigException e) {
            throw new InvalidConfigException(List.of(ExperimentConfig.problem(e, experiment.source())));
        }
        List<ConfigProblem> problems = new ArrayList<>();
        String fallbackOrigin = ConfigReader.describe(user.origin());

        // 1. keys and types against the reference
        checkObject(user.root(), reference.root(), "", problems);

        // 2. component sections
        Config effective = merged.withoutPath("peft4j");
        Config hostView = effective;
        ConfiguredComponent method = null;
        Optional<ConfiguredComponent> head = Optional.empty();
        for (Spec spec : FIXED) {
            Set<String> hostKeys = reference.hasPath(spec.path()) ? reference.getObject(spec.path()).keySet() : Set.of(spec.selector());
            ConfigObject section = objectAt(merged, spec.path());
            ConfiguredComponent c = component(spec, section, hostKeys, merged, user, fallbackOrigin, problems);
            if (c != null) {
                effective = effective.withValue(spec.path(), withDefaults(section, c, merged));
                if (spec.kind() == ComponentKind.ADAPTER_METHOD) {
                    method = c;
                } else {
                    head = Optional.of(c);
                }
            }
            hostView = hostView.withValue(spec.path(), onlyKeys(section, hostKeys));
        }

        List<ConfiguredComponent> objectives = new ArrayList<>();
        if (merged.hasPath(OBJECTIVES) && merged.getValue(OBJECTIVES).valueType() == ConfigValueType.LIST) {
            ConfigList list = merged.getList(OBJECTIVES);
            List<Object> effectiveList = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                String path = OBJECTIVES + "[" + i + "]";
                ConfigValue element = list.get(i);
                if (element.valueType() != ConfigValueType.OBJECT) {
                    problems.add(new ConfigProblem(path, ConfigReader.describe(element.origin()),
                            "is " + render(element) + ", expected an object { name = ..., <its keys> }"));
                    continue;
                }
                ConfiguredComponent c = component(new Spec(path, ComponentKind.OBJECTIVE, "name", true), (ConfigObject) element,
                        Set.of("name", OBJECTIVE_WEIGHT), merged, user, ConfigReader.describe(element.origin()), problems);
                ConfigValue weight = ((ConfigObject) element).get(OBJECTIVE_WEIGHT);
                if (weight != null && (weight.valueType() != ConfigValueType.NUMBER || ((Number) weight.unwrapped()).doubleValue() < 0
                        || !Double.isFinite(((Number) weight.unwrapped()).doubleValue()))) {
                    problems.add(new ConfigProblem(path + "." + OBJECTIVE_WEIGHT, ConfigReader.describe(weight.origin()),
                            "is " + render(weight) + ", expected a number >= 0 (the objective's factor in the training loss; default 1)"));
                }
                if (c != null) {
                    objectives.add(c);
                    effectiveList.add(withDefaults((ConfigObject) element, c, merged));
                }
            }
            if (problems.isEmpty()) {
                effective = effective.withValue(OBJECTIVES, ConfigValueFactory.fromIterable(effectiveList));
            }
            hostView = hostView.withValue(OBJECTIVES, ConfigValueFactory.fromIterable(List.of()));
        }

        Map<String, ConfiguredComponent> datasets = new LinkedHashMap<>();
        if (merged.hasPath(DATA) && merged.getValue(DATA).valueType() == ConfigValueType.OBJECT) {
            for (Map.Entry<String, ConfigValue> e : merged.getObject(DATA).entrySet()) {
                String path = DATA + "." + ConfigUtil.joinPath(e.getKey());
                if (e.getValue().valueType() != ConfigValueType.OBJECT || !reference.hasPath(path)
                        || reference.getValue(path).valueType() != ConfigValueType.OBJECT) {
                    continue; // reported by the key check (an object where the reference has a value, e.g. data.holdout = {}, too)
                }
                ConfigObject split = (ConfigObject) e.getValue();
                Set<String> hostKeys = reference.getObject(path).keySet();
                ConfigValue active = split.get(DATA_ACTIVE);
                if (active != null && active.valueType() != ConfigValueType.NULL) {
                    ConfiguredComponent c = component(new Spec(path, ComponentKind.DATASET_READER, DATA_SELECTOR, true), split, hostKeys,
                            merged, user, fallbackOrigin, problems);
                    if (c != null) {
                        datasets.put(e.getKey(), c);
                        effective = effective.withValue(path, withDefaults(split, c, merged));
                    }
                }
                hostView = hostView.withValue(path, onlyKeys(split, hostKeys));
            }
        }

        List<ConfiguredComponent> listeners = new ArrayList<>();
        if (merged.hasPath(TRACKING) && merged.getValue(TRACKING).valueType() == ConfigValueType.OBJECT) {
            for (Map.Entry<String, ConfigValue> e : merged.getObject(TRACKING).entrySet()) {
                String path = TRACKING + "." + ConfigUtil.joinPath(e.getKey());
                String where = ConfigReader.describe(e.getValue().origin());
                if (e.getValue().valueType() != ConfigValueType.OBJECT) {
                    problems.add(new ConfigProblem(path, where, "is " + render(e.getValue()) + ", expected an object with the "
                            + ComponentKind.RUN_LISTENER.label() + "'s keys ({} for its defaults)"));
                    continue;
                }
                ConfigObject own = (ConfigObject) e.getValue();
                ConfigObject named = own.withValue("name", ConfigValueFactory.fromAnyRef(e.getKey(), "tracking section name at " + where));
                ConfiguredComponent c = component(new Spec(path, ComponentKind.RUN_LISTENER, "name", true), named, Set.of("name"), merged, user,
                        where, problems);
                if (c != null) {
                    listeners.add(c);
                    effective = effective.withValue(path, withDefaults(own, c, merged));
                }
            }
            hostView = hostView.withoutPath(TRACKING);
        }

        // 3. host sections
        Map<String, Object> settings = new LinkedHashMap<>();
        for (SettingsSection<?> s : sections) {
            if (!hostView.hasPath(s.path()) || hostView.getValue(s.path()).valueType() != ConfigValueType.OBJECT) {
                continue; // a missing or mistyped section is reported by the key check
            }
            ConfigReader reader = new ConfigReader(hostView.getConfig(s.path()), s.path());
            try {
                Object value = s.read(reader);
                problems.addAll(reader.problems());
                if (value != null) {
                    settings.put(s.path(), value);
                }
            } catch (InvalidConfigException e) {
                problems.addAll(e.problems());
            } catch (RuntimeException e) {
                // a value no check foresaw (a NUL in a path, a ConfigException from a getter): still a located problem
                problems.addAll(reader.problems());
                problems.add(new ConfigProblem(s.path(), originOf(user, s.path(), null, fallbackOrigin),
                        "cannot be read: " + String.valueOf(e.getMessage()).replace("\0", "\\u0000")));
            }
        }

        List<ConfigProblem> all = dedupeAndSort(problems.stream().map(p -> userFacing(p, experiment.source())).toList());
        if (!all.isEmpty() || method == null) {
            throw new InvalidConfigException(all.isEmpty()
                    ? List.of(new ConfigProblem("method.name", fallbackOrigin, "is missing")) : all);
        }
        return new ValidatedExperiment(experiment.source(), effective, settings, method, head, objectives, datasets, listeners);
    }

    private static String article(String noun) {
        return ("aeiou".indexOf(noun.charAt(0)) >= 0 ? "an " : "a ") + noun;
    }

    /** A problem with a default's value (a required key left null) points at the experiment, naming the default's origin. */
    private static ConfigProblem userFacing(ConfigProblem p, String source) {
        if (p.origin().startsWith("reference.conf")) {
            return new ConfigProblem(p.key(), source, p.message() + " (the default, from " + p.origin() + ")");
        }
        return p;
    }

    /** Reads one component section; returns null (with problems recorded) when it cannot be configured. */
    private ConfiguredComponent component(Spec spec, ConfigObject section, Set<String> hostKeys, Config merged, Config user,
            String fallbackOrigin, List<ConfigProblem> problems) {
        String selectorPath = spec.path() + "." + spec.selector();
        ConfigValue selector = section == null ? null : section.get(spec.selector());
        String kinds = spec.kind().label() + "s";
        String registered = registry.names(spec.kind()).isEmpty() ? "none" : String.join(", ", registry.names(spec.kind()));
        if (selector == null || selector.valueType() == ConfigValueType.NULL) {
            if (spec.required()) {
                problems.add(new ConfigProblem(selectorPath, originOf(user, spec.path(), section, fallbackOrigin),
                        "is missing, expected the name of " + article(spec.kind().label()) + "; registered " + kinds + ": " + registered));
            } else if (section != null) {
                Set<String> own = new LinkedHashSet<>(section.keySet());
                own.removeAll(hostKeys);
                if (!own.isEmpty()) {
                    problems.add(new ConfigProblem(selectorPath, originOf(user, spec.path(), section, fallbackOrigin),
                            "is not set, but " + spec.path() + " has keys " + own + "; set " + selectorPath + " to one of: " + registered));
                }
            }
            return null;
        }
        String where = ConfigReader.describe(selector.origin());
        if (selector.valueType() != ConfigValueType.STRING) {
            problems.add(new ConfigProblem(selectorPath, where, "is " + render(selector) + ", expected the name of "
                    + article(spec.kind().label()) + "; registered " + kinds + ": " + registered));
            return null;
        }
        String name = (String) selector.unwrapped();
        Optional<PluginRegistry.Registration<?>> registration = registry.find(spec.kind(), name);
        if (registration.isEmpty()) {
            problems.add(new ConfigProblem(selectorPath, where, registry.unknownNameMessage(spec.kind(), name)));
            return null;
        }
        Config own = onlyKeysExcept(section, hostKeys).toConfig().withFallback(defaults(spec.kind(), name, merged));
        try {
            PluginRegistry.Registration<?> r = registration.get();
            Object config = dev.peft4j.runtime.plugin.PluginClassLoader.withContextLoader(r.plugin().classLoader(),
                    () -> r.factory().parseConfig(own));
            if (config == null) {
                problems.add(new ConfigProblem(spec.path(), where, spec.kind().label() + " '" + name + "' returned no config (a plugin bug)"));
                return null;
            }
            return new ConfiguredComponent(spec.path(), registration.get(), config, own);
        } catch (InvalidConfigException e) {
            e.problems().forEach(p -> problems.add(p.under(spec.path())));
        } catch (RuntimeException | LinkageError e) {
            problems.add(new ConfigProblem(spec.path(), where, spec.kind().label() + " '" + name + "' from "
                    + registration.get().plugin().source() + " failed to read its config: " + e));
        }
        return null;
    }

    /** The factory's defaults as merged (so a user's {@code peft4j.methods.lora.r = 4} applies too). */
    private static Config defaults(ComponentKind kind, String name, Config merged) {
        String path = kind.defaultsPath(name);
        return merged.hasPath(path) && merged.getValue(path).valueType() == ConfigValueType.OBJECT ? merged.getConfig(path) : ConfigFactory.empty();
    }

    /** The section for resolved.conf: its keys over the factory's defaults. */
    private static ConfigObject withDefaults(ConfigObject section, ConfiguredComponent c, Config merged) {
        return section.withFallback(defaults(c.kind(), c.name(), merged).root());
    }

    private static ConfigObject objectAt(Config config, String path) {
        return config.hasPath(path) && config.getValue(path).valueType() == ConfigValueType.OBJECT ? config.getObject(path) : null;
    }

    private static ConfigObject onlyKeys(ConfigObject section, Set<String> keep) {
        if (section == null) {
            return ConfigFactory.empty().root();
        }
        ConfigObject out = section;
        for (String k : section.keySet()) {
            if (!keep.contains(k)) {
                out = out.withoutKey(k);
            }
        }
        return out;
    }

    private static ConfigObject onlyKeysExcept(ConfigObject section, Set<String> drop) {
        ConfigObject out = section;
        for (String k : drop) {
            out = out.withoutKey(k);
        }
        return out;
    }

    private static String originOf(Config user, String path, ConfigObject section, String fallback) {
        String p = path.contains("[") ? null : path;
        if (p != null && user.hasPathOrNull(p)) {
            // getValue refuses a null value (method = null), which still has an origin: walk the objects to it
            com.typesafe.config.ConfigValue v = user.root();
            for (String key : com.typesafe.config.ConfigUtil.splitPath(p)) {
                v = v instanceof ConfigObject o ? o.get(key) : null;
            }
            if (v != null) {
                return ConfigReader.describe(v.origin());
            }
        }
        return fallback;
    }

    // ---- keys and types ------------------------------------------------------------------------

    /** Walks the user's object beside the reference's, reporting unknown keys and wrong types. */
    private void checkObject(ConfigObject user, ConfigObject reference, String path, List<ConfigProblem> problems) {
        for (Map.Entry<String, ConfigValue> e : user.entrySet()) {
            String key = e.getKey();
            String childPath = path.isEmpty() ? ConfigUtil.joinPath(key) : path + "." + ConfigUtil.joinPath(key);
            ConfigValue value = e.getValue();
            ConfigValue ref = reference.get(key);
            if (ref == null) {
                Set<String> valid = new java.util.TreeSet<>(reference.keySet());
                problems.add(new ConfigProblem(childPath, ConfigReader.describe(value.origin()), "unknown key"
                        + ConfigReader.suggestion(key, valid) + "; valid keys" + (path.isEmpty() ? "" : " in " + path) + ": "
                        + String.join(", ", valid)));
                continue;
            }
            if (!checkType(childPath, value, ref, problems)) {
                continue;
            }
            if (value.valueType() == ConfigValueType.OBJECT && ref.valueType() == ConfigValueType.OBJECT) {
                if (childPath.equals(TRACKING)) {
                    continue; // each key names a run listener, whose keys its factory checks
                }
                if (isComponentSection(childPath)) {
                    checkHostKeys((ConfigObject) value, (ConfigObject) ref, childPath, problems);
                } else {
                    checkObject((ConfigObject) value, (ConfigObject) ref, childPath, problems);
                }
            }
        }
    }

    /** In a component section only the host's own keys are checked here; the rest are the factory's. */
    private void checkHostKeys(ConfigObject user, ConfigObject reference, String path, List<ConfigProblem> problems) {
        for (Map.Entry<String, ConfigValue> e : user.entrySet()) {
            ConfigValue ref = reference.get(e.getKey());
            if (ref != null) {
                checkType(path + "." + ConfigUtil.joinPath(e.getKey()), e.getValue(), ref, problems);
            }
        }
    }

    private static boolean isComponentSection(String path) {
        if (FIXED.stream().anyMatch(s -> s.path().equals(path))) {
            return true;
        }
        return path.startsWith(DATA + ".") && path.indexOf('.', DATA.length() + 1) < 0;
    }

    /** Whether {@code value} has the type of the reference's {@code ref}; a null reference accepts anything. */
    static boolean checkType(String path, ConfigValue value, ConfigValue ref, List<ConfigProblem> problems) {
        ConfigValueType want = ref.valueType();
        ConfigValueType have = value.valueType();
        if (want == ConfigValueType.NULL || have == ConfigValueType.NULL || want == have) {
            if (want == ConfigValueType.LIST && have == ConfigValueType.LIST) {
                return checkListElements(path, (ConfigList) value, (ConfigList) ref, problems);
            }
            return true;
        }
        boolean ok = switch (want) {
            case NUMBER -> have == ConfigValueType.STRING && isNumber((String) value.unwrapped());
            case BOOLEAN -> have == ConfigValueType.STRING
                    && Set.of("true", "false", "yes", "no", "on", "off").contains(((String) value.unwrapped()).toLowerCase(Locale.ROOT));
            case STRING -> have == ConfigValueType.NUMBER || have == ConfigValueType.BOOLEAN;
            default -> false;
        };
        if (!ok) {
            problems.add(new ConfigProblem(path, ConfigReader.describe(value.origin()), "is " + render(value) + " ("
                    + have.name().toLowerCase(Locale.ROOT) + "), expected " + describeType(ref) + " (default: " + render(ref) + ")"));
        }
        return ok;
    }

    private static boolean checkListElements(String path, ConfigList value, ConfigList ref, List<ConfigProblem> problems) {
        if (ref.isEmpty()) {
            return true;
        }
        boolean ok = true;
        for (int i = 0; i < value.size(); i++) {
            ok &= checkType(path + "[" + i + "]", value.get(i), ref.get(0), problems);
        }
        return ok;
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s.trim());
            return true;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static String describeType(ConfigValue ref) {
        return switch (ref.valueType()) {
            case NUMBER -> "a number";
            case BOOLEAN -> "true or false";
            case STRING -> "a string";
            case LIST -> "a list";
            case OBJECT -> "an object";
            case NULL -> "anything";
        };
    }

    static String render(ConfigValue v) {
        return v.render(ConfigRenderOptions.concise());
    }

    /** Drops repeats (same key and origin: the key check and a section reader both saw it), sorts by file and line. */
    static List<ConfigProblem> dedupeAndSort(List<ConfigProblem> problems) {
        Map<String, ConfigProblem> unique = new LinkedHashMap<>();
        for (ConfigProblem p : problems) {
            unique.putIfAbsent(p.key() + "\u0000" + p.origin(), p);
        }
        List<ConfigProblem> out = new ArrayList<>(unique.values());
        out.sort(Comparator.comparing((ConfigProblem p) -> file(p.origin())).thenComparingInt(p -> line(p.origin())));
        return out;
    }

    private static String file(String origin) {
        int colon = origin.lastIndexOf(':');
        return colon > 0 && line(origin) != Integer.MAX_VALUE ? origin.substring(0, colon) : origin;
    }

    private static int line(String origin) {
        int colon = origin.lastIndexOf(':');
        if (colon < 0) {
            return Integer.MAX_VALUE;
        }
        try {
            return Integer.parseInt(origin.substring(colon + 1).trim());
        } catch (NumberFormatException e) {
            return Integer.MAX_VALUE;
        }
    }
}
