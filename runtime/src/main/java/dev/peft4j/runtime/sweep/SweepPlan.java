package dev.peft4j.runtime.sweep;

import static java.util.Objects.requireNonNull;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.config.ConfigReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The trials of a hyper-parameter sweep, each a set of {@code key=value} overrides of one experiment. Nothing
 * here runs anything: a plan is made from the command line's {@code --grid}/{@code --range}/{@code --random}
 * (or from Java), checked against the experiment's resolved config, and then run one trial at a time by
 * {@link Sweep} or by any other scheduler through {@link SweepTrialRunner}.
 *
 * <ul>
 *   <li>Grid: every combination of the {@code --grid KEY=V1,V2,...} values, the first key varying slowest.</li>
 *   <li>Random: {@code n} trials; each {@code --grid} key takes one of its values uniformly, each
 *       {@code --range KEY=LOW:HIGH[:SCALE]} a value drawn uniformly ({@code lin}, the default), log-uniformly
 *       ({@code log}) or as a uniform integer in [LOW, HIGH] ({@code int}), from a {@link SplittableRandom}
 *       seeded with {@code seed}: the same seed gives the same plan.</li>
 * </ul>
 *
 * Values are HOCON text, passed unchanged as overrides ({@code [query,value]}, {@code 5e-4}); commas inside
 * brackets, braces or quotes do not split a grid's values.
 *
 * @param trials the trials, in running order; ids {@code trial-001}, {@code trial-002}, ...
 */
public record SweepPlan(List<Trial> trials) {
    /** Keys a sweep sets itself for every trial. */
    public static final Set<String> RESERVED_KEYS = Set.of("run.dir", "run.name");

    public SweepPlan {
        trials = List.copyOf(requireNonNull(trials, "trials is null"));
        if (trials.isEmpty()) {
            throw new Peft4jException("a sweep needs at least one trial");
        }
    }

    /**
     * One trial.
     *
     * @param index 1-based position in the plan
     * @param id {@code trial-NNN}: the name of its run directory under the sweep directory
     * @param overrides the values this trial sets, by config key, in the plan's key order
     */
    public record Trial(int index, String id, Map<String, String> overrides) {
        public Trial {
            requireNonNull(id, "id is null");
            overrides = Collections.unmodifiableMap(new LinkedHashMap<>(overrides));
        }

        /** The overrides as {@code key=value} arguments, as {@code peft4j train} takes them. */
        public List<String> overrideArguments() {
            List<String> out = new ArrayList<>();
            overrides.forEach((k, v) -> out.add(k + "=" + v));
            return out;
        }

        /** {@code method.r=8 train.learning-rate=1e-3}: for tables and logs. */
        public String describe() {
            return String.join(" ", overrideArguments());
        }
    }

    /** How a {@code --range} is sampled. */
    public enum Scale { LIN, LOG, INT }

    /** A {@code --range}: {@code low <= value <= high}. */
    public record Range(double low, double high, Scale scale) {
        public Range {
            requireNonNull(scale, "scale is null");
            if (!(low <= high) || !Double.isFinite(low) || !Double.isFinite(high)) {
                throw new Peft4jException("a range needs finite LOW <= HIGH, got " + low + ":" + high);
            }
            if (scale == Scale.LOG && low <= 0) {
                throw new Peft4jException("a log range needs LOW > 0, got " + low + ":" + high);
            }
            if (scale == Scale.INT && (low != Math.rint(low) || high != Math.rint(high))) {
                throw new Peft4jException("an int range needs whole numbers, got " + low + ":" + high);
            }
        }

        String sample(SplittableRandom random) {
            return switch (scale) {
                case LIN -> format(low + (high - low) * random.nextDouble());
                case LOG -> format(Math.exp(Math.log(low) + (Math.log(high) - Math.log(low)) * random.nextDouble()));
                case INT -> Long.toString((long) low + random.nextLong((long) high - (long) low + 1));
            };
        }

        /** Four significant digits: enough to tell trials apart, short enough to read in a table. */
        static String format(double v) {
            String s = String.format(Locale.ROOT, "%.4g", v);
            return s.contains("e") ? s : s.replaceAll("(\\.\\d*?)0+$", "$1").replaceAll("\\.$", "");
        }
    }

    /** Every combination of the values, the first key varying slowest. */
    public static SweepPlan grid(Map<String, List<String>> values) {
        checkAxes(values, Map.of());
        List<Map<String, String>> combos = new ArrayList<>();
        combos.add(new LinkedHashMap<>());
        for (Map.Entry<String, List<String>> axis : values.entrySet()) {
            List<Map<String, String>> next = new ArrayList<>();
            for (Map<String, String> c : combos) {
                for (String v : axis.getValue()) {
                    Map<String, String> m = new LinkedHashMap<>(c);
                    m.put(axis.getKey(), v);
                    next.add(m);
                }
            }
            combos = next;
        }
        return of(combos);
    }

    /** {@code n} random trials: each choice key takes one of its values, each range key a sampled value. */
    public static SweepPlan random(Map<String, List<String>> choices, Map<String, Range> ranges, int n, long seed) {
        checkAxes(choices, ranges);
        if (n < 1) {
            throw new Peft4jException("--random needs a positive number of trials, got " + n);
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<Map<String, String>> combos = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Map<String, String> m = new LinkedHashMap<>();
            choices.forEach((k, v) -> m.put(k, v.get(random.nextInt(v.size()))));
            ranges.forEach((k, r) -> m.put(k, r.sample(random)));
            combos.add(m);
        }
        return of(combos);
    }

    /**
     * A plan from command-line arguments: {@code grid} holds {@code KEY=V1,V2,...}, {@code ranges}
     * {@code KEY=LOW:HIGH[:lin|log|int]}; {@code randomTrials} null means a grid (and then no range is allowed).
     */
    public static SweepPlan parse(List<String> grid, List<String> ranges, Integer randomTrials, long seed) {
        Map<String, List<String>> choices = new LinkedHashMap<>();
        for (String g : grid == null ? List.<String>of() : grid) {
            String[] kv = keyValue(g, "--grid", "KEY=V1,V2,...");
            List<String> values = splitValues(kv[1]);
            if (values.isEmpty() || values.stream().anyMatch(String::isBlank)) {
                throw new Peft4jException("--grid " + g + ": expected KEY=V1,V2,... with no empty value");
            }
            if (choices.put(kv[0], values) != null) {
                throw new Peft4jException("--grid " + kv[0] + " is given twice");
            }
        }
        Map<String, Range> rangeMap = new LinkedHashMap<>();
        for (String r : ranges == null ? List.<String>of() : ranges) {
            String[] kv = keyValue(r, "--range", "KEY=LOW:HIGH[:lin|log|int]");
            String[] parts = kv[1].split(":", -1);
            if (parts.length < 2 || parts.length > 3) {
                throw new Peft4jException("--range " + r + ": expected KEY=LOW:HIGH[:lin|log|int]");
            }
            Scale scale;
            try {
                scale = parts.length == 3 ? Scale.valueOf(parts[2].strip().toUpperCase(Locale.ROOT)) : Scale.LIN;
            } catch (IllegalArgumentException e) {
                throw new Peft4jException("--range " + r + ": scale '" + parts[2] + "' is not one of lin, log, int");
            }
            Range range;
            try {
                range = new Range(Double.parseDouble(parts[0].strip()), Double.parseDouble(parts[1].strip()), scale);
            } catch (NumberFormatException e) {
                throw new Peft4jException("--range " + r + ": LOW and HIGH must be numbers");
            } catch (Peft4jException e) {
                throw new Peft4jException("--range " + r + ": " + e.getMessage());
            }
            if (rangeMap.put(kv[0], range) != null || choices.containsKey(kv[0])) {
                throw new Peft4jException("--range " + kv[0] + " is given twice (or also as --grid)");
            }
        }
        if (randomTrials == null) {
            if (!rangeMap.isEmpty()) {
                throw new Peft4jException("--range needs --random N (a grid takes only --grid values)");
            }
            if (choices.isEmpty()) {
                throw new Peft4jException("nothing to sweep: give --grid KEY=V1,V2,... (and/or --random N with --range KEY=LOW:HIGH[:log])");
            }
            return grid(choices);
        }
        return random(choices, rangeMap, randomTrials, seed);
    }

    /** Every key the trials set, in plan order. */
    public List<String> keys() {
        Set<String> keys = new LinkedHashSet<>();
        trials.forEach(t -> keys.addAll(t.overrides().keySet()));
        return List.copyOf(keys);
    }

    /**
     * Checks that each swept key exists in the experiment's resolved config (every default filled in), before
     * anything runs; an unknown key is an error with a did-you-mean. Keys the sweep sets itself are refused.
     */
    public void checkKeys(Config resolved) {
        List<String> problems = new ArrayList<>();
        Set<String> known = new LinkedHashSet<>();
        leafPaths(resolved, known);
        for (String key : keys()) {
            boolean exists;
            try {
                exists = resolved.hasPathOrNull(key);
            } catch (com.typesafe.config.ConfigException e) {
                exists = false;
            }
            if (!exists) {
                problems.add("sweep key '" + key + "' is not a key of the experiment" + ConfigReader.suggestion(key, known));
            }
        }
        if (!problems.isEmpty()) {
            throw new Peft4jException(String.join("; ", problems) + " (peft4j validate EXP.conf shows the experiment; peft4j plugins lists every key)");
        }
    }

    /** The plan as JSON ({@code sweep.json}), read back by {@link #fromJson}. */
    public JsonObject toJson() {
        JsonArray array = new JsonArray();
        for (Trial t : trials) {
            JsonObject o = new JsonObject();
            o.addProperty("id", t.id());
            JsonObject overrides = new JsonObject();
            t.overrides().forEach(overrides::addProperty);
            o.add("overrides", overrides);
            array.add(o);
        }
        JsonObject out = new JsonObject();
        out.add("trials", array);
        return out;
    }

    public static SweepPlan fromJson(JsonObject json) {
        List<Map<String, String>> combos = new ArrayList<>();
        for (JsonElement e : json.getAsJsonArray("trials")) {
            Map<String, String> m = new LinkedHashMap<>();
            e.getAsJsonObject().getAsJsonObject("overrides").entrySet().forEach(x -> m.put(x.getKey(), x.getValue().getAsString()));
            combos.add(m);
        }
        return of(combos);
    }

    private static SweepPlan of(List<Map<String, String>> combos) {
        List<Trial> trials = new ArrayList<>();
        for (int i = 0; i < combos.size(); i++) {
            trials.add(new Trial(i + 1, String.format(Locale.ROOT, "trial-%03d", i + 1), combos.get(i)));
        }
        return new SweepPlan(trials);
    }

    private static void checkAxes(Map<String, List<String>> choices, Map<String, Range> ranges) {
        requireNonNull(choices, "choices is null");
        requireNonNull(ranges, "ranges is null");
        if (choices.isEmpty() && ranges.isEmpty()) {
            throw new Peft4jException("nothing to sweep: no --grid or --range key");
        }
        for (String key : concat(choices.keySet(), ranges.keySet())) {
            if (RESERVED_KEYS.contains(key)) {
                throw new Peft4jException("sweep key '" + key + "' is set by the sweep itself (each trial runs in <sweep dir>/trial-NNN)");
            }
            if (key.isBlank()) {
                throw new Peft4jException("a sweep key is empty");
            }
        }
        choices.forEach((k, v) -> {
            if (v.isEmpty()) {
                throw new Peft4jException("sweep key '" + k + "' has no values");
            }
        });
    }

    private static List<String> concat(Set<String> a, Set<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private static String[] keyValue(String arg, String option, String form) {
        int eq = arg.indexOf('=');
        if (eq <= 0) {
            throw new Peft4jException(option + " " + arg + ": expected " + form);
        }
        return new String[] {arg.substring(0, eq).strip(), arg.substring(eq + 1).strip()};
    }

    /** Splits on commas outside brackets, braces and double quotes. */
    static List<String> splitValues(String text) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        boolean quoted = false;
        StringBuilder current = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '"' && (i == 0 || text.charAt(i - 1) != '\\')) {
                quoted = !quoted;
            } else if (!quoted && (c == '[' || c == '{')) {
                depth++;
            } else if (!quoted && (c == ']' || c == '}')) {
                depth--;
            } else if (!quoted && depth == 0 && c == ',') {
                out.add(current.toString().strip());
                current.setLength(0);
                continue;
            }
            current.append(c);
        }
        out.add(current.toString().strip());
        return out;
    }

    /** Every path, null-valued leaves and sections included (entrySet() skips nulls). */
    private static void leafPaths(Config config, Set<String> out) {
        walk(config.root(), "", out);
    }

    private static void walk(com.typesafe.config.ConfigObject object, String prefix, Set<String> out) {
        for (Map.Entry<String, ConfigValue> e : object.entrySet()) {
            String path = prefix + com.typesafe.config.ConfigUtil.quoteString(e.getKey()).replaceAll("^\"([A-Za-z0-9_-]+)\"$", "$1");
            out.add(path);
            if (e.getValue() instanceof com.typesafe.config.ConfigObject child) {
                walk(child, path + ".", out);
            }
        }
    }
}
