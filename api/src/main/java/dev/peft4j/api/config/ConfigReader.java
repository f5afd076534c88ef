package dev.peft4j.api.config;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Reads one component's config section (defaults already merged in) into typed values, collecting
 * every problem instead of stopping at the first. Typical use in a factory's {@code parseConfig}:
 *
 * <pre>{@code
 * ConfigReader r = new ConfigReader(section, "");   // the host adds the section path ("method.r")
 * int rank = r.intValue("r", 1, Integer.MAX_VALUE);
 * String bias = r.oneOf("bias", List.of("none", "all", "lora_only"));
 * r.finish();   // throws InvalidConfigException listing all problems, including unknown keys
 * return new LoraConfig(rank, bias);
 * }</pre>
 *
 * <p>Keys that were read are remembered; {@link #finish()} reports every other key present in the
 * section as unknown, with a did-you-mean suggestion.
 */
public final class ConfigReader {
    private final Config config;
    private final String prefix;
    private final List<ConfigProblem> problems = new ArrayList<>();
    private final Set<String> read = new LinkedHashSet<>();
    private final Set<String> ignored = new LinkedHashSet<>();

    /** @param prefix the section's full path, used in messages ({@code method}, {@code head}) */
    public ConfigReader(Config config, String prefix) {
        this.config = requireNonNull(config, "config is null");
        this.prefix = requireNonNull(prefix, "prefix is null");
    }

    public Config config() {
        return config;
    }

    public String fullKey(String key) {
        return prefix.isEmpty() ? key : prefix + "." + key;
    }

    /** Marks keys as known without reading them (e.g. the {@code name} selector). */
    public ConfigReader allow(String... keys) {
        ignored.addAll(List.of(keys));
        return this;
    }

    public boolean has(String key) {
        read.add(key);
        return config.hasPath(quote(key));
    }

    public String string(String key) {
        return get(key, ConfigValueType.STRING, "a string", () -> config.getString(quote(key)), "");
    }

    public Optional<String> optionalString(String key) {
        return has(key) && !config.getIsNull(quote(key)) ? Optional.of(string(key)) : Optional.empty();
    }

    public boolean bool(String key) {
        return get(key, ConfigValueType.BOOLEAN, "true or false", () -> config.getBoolean(quote(key)), false);
    }

    public int intValue(String key, int min, int max) {
        int before = problems.size();
        if (fractional(key)) {
            return min;
        }
        int v = get(key, ConfigValueType.NUMBER, "an integer", () -> config.getInt(quote(key)), min);
        if (problems.size() == before && (v < min || v > max)) {
            problem(key, "is " + v + ", expected an integer in [" + min + ", " + max + "]");
            return min;
        }
        return v;
    }

    public long longValue(String key, long min, long max) {
        int before = problems.size();
        if (fractional(key)) {
            return min;
        }
        long v = get(key, ConfigValueType.NUMBER, "an integer", () -> config.getLong(quote(key)), min);
        if (problems.size() == before && (v < min || v > max)) {
            problem(key, "is " + v + ", expected an integer in [" + min + ", " + max + "]");
            return min;
        }
        return v;
    }

    /** Typesafe Config's getInt truncates 1.5 to 1 without a word: an integer key given a fraction is a problem, not a rounding. */
    private boolean fractional(String key) {
        if (!has(key) || config.getIsNull(quote(key))) {
            return false;
        }
        Object raw = config.getValue(quote(key)).unwrapped();
        if (raw instanceof Number n && n.doubleValue() != Math.rint(n.doubleValue())) {
            problem(key, "is " + n + ", expected an integer");
            return true;
        }
        return false;
    }

    /**
     * A double in a range; {@code minInclusive}/{@code maxInclusive} say whether the bounds are allowed
     * (dropout: {@code [0, 1)} is {@code doubleValue("dropout", 0, true, 1, false)}).
     */
    public double doubleValue(String key, double min, boolean minInclusive, double max, boolean maxInclusive) {
        int before = problems.size();
        double v = get(key, ConfigValueType.NUMBER, "a number", () -> config.getDouble(quote(key)), min);
        boolean ok = (minInclusive ? v >= min : v > min) && (maxInclusive ? v <= max : v < max);
        if (problems.size() == before && (!ok || Double.isNaN(v))) {
            problem(key, "is " + fmt(v) + ", expected a number in " + (minInclusive ? "[" : "(") + fmt(min) + ", " + fmt(max)
                    + (maxInclusive ? "]" : ")"));
            return min;
        }
        return v;
    }

    public String oneOf(String key, Collection<String> choices) {
        String v = string(key);
        if (!choices.contains(v) && !problemFor(key)) {
            problem(key, "is '" + v + "', expected one of " + choices + suggestion(v, choices));
        }
        return v;
    }

    public List<String> stringList(String key) {
        return get(key, ConfigValueType.LIST, "a list of strings", () -> config.getStringList(quote(key)), List.of());
    }

    public List<Integer> intList(String key) {
        return get(key, ConfigValueType.LIST, "a list of integers", () -> config.getIntList(quote(key)), List.of());
    }

    /** The raw value's type, for keys that accept several forms (a string or a list). */
    public Optional<ConfigValueType> valueType(String key) {
        read.add(key);
        return Optional.ofNullable(value(key)).map(ConfigValue::valueType);
    }

    public Config section(String key) {
        return get(key, ConfigValueType.OBJECT, "an object", () -> config.getConfig(quote(key)), com.typesafe.config.ConfigFactory.empty());
    }

    /** Adds a problem found by the caller's own validation (cross-field checks). */
    public void problem(String key, String message) {
        problems.add(new ConfigProblem(fullKey(key), origin(key), message));
    }

    public List<ConfigProblem> problems() {
        List<ConfigProblem> all = new ArrayList<>(problems);
        for (String key : config.root().keySet()) {
            if (!read.contains(key) && !ignored.contains(key)) {
                Set<String> known = new LinkedHashSet<>(read);
                known.addAll(ignored);
                all.add(new ConfigProblem(fullKey(key), origin(key), "unknown key" + suggestion(key, known)
                        + (known.isEmpty() ? "" : "; known keys: " + known)));
            }
        }
        return all;
    }

    /** Throws {@link InvalidConfigException} if anything was wrong, including unknown keys. */
    public void finish() {
        List<ConfigProblem> all = problems();
        if (!all.isEmpty()) {
            throw new InvalidConfigException(all);
        }
    }

    private boolean problemFor(String key) {
        String full = fullKey(key);
        return problems.stream().anyMatch(p -> p.key().equals(full));
    }

    private interface Getter<T> {
        T get();
    }

    private <T> T get(String key, ConfigValueType expectedType, String expected, Getter<T> getter, T fallback) {
        read.add(key);
        String path = quote(key);
        if (!config.hasPathOrNull(path)) {
            problem(key, "is missing, expected " + expected);
            return fallback;
        }
        if (config.getIsNull(path)) {
            problem(key, "is null, expected " + expected);
            return fallback;
        }
        try {
            return getter.get();
        } catch (ConfigException.WrongType | ConfigException.BadValue e) {
            ConfigValue value = config.getValue(path);
            problem(key, "is " + value.render(ConfigRenderOptions.concise()) + " (" + value.valueType().name().toLowerCase(Locale.ROOT) + "), expected " + expected);
            return fallback;
        }
    }

    private String origin(String key) {
        ConfigValue value = value(key);
        return describe(value == null ? config.root().origin() : value.origin());
    }

    /** The value at {@code key}, including an explicit null (which {@code Config.getValue} refuses); null if absent. */
    private ConfigValue value(String key) {
        return config.root().get(key);
    }

    /**
     * "file:line" for files, "resource:line" for classpath resources ({@code reference.conf:12}), or
     * the origin's description ({@code command line (method.r=4)}).
     */
    public static String describe(ConfigOrigin origin) {
        if (origin == null) {
            return "";
        }
        String where = origin.resource() != null ? origin.resource() : origin.filename();
        if (where != null) {
            return origin.lineNumber() > 0 ? where + ":" + origin.lineNumber() : where;
        }
        return origin.description();
    }

    /** " (did you mean 'x'?)" when a known name is within edit distance 2 (or 1/3 of the length). */
    public static String suggestion(String value, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = editDistance(value.toLowerCase(Locale.ROOT), k.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        if (best != null && bestDistance <= Math.max(2, value.length() / 3)) {
            return " (did you mean '" + best + "'?)";
        }
        return "";
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static String quote(String key) {
        return com.typesafe.config.ConfigUtil.joinPath(key);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : String.valueOf(d);
    }
}
