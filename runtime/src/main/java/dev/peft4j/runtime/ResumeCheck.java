package dev.peft4j.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import dev.peft4j.api.Peft4jException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Refuses to resume a run with settings that differ from those it was started with. A resumed run
 * continues the optimizer, the schedule and the data order of the checkpoint; changing
 * {@code train.epochs} (the schedule's length), the learning rate or the data in between would mix two
 * runs under one name while {@code resolved.conf} claimed one. Only keys that cannot change what is
 * trained may differ.
 */
final class ResumeCheck {
    /** Keys that change neither the trajectory nor the outputs. */
    static final Set<String> MAY_CHANGE = Set.of("train.eval-batch-size", "plugins.dir");

    private ResumeCheck() {}

    /** Throws if {@code runDirectory} holds a checkpoint and its {@code resolved.conf} differs from {@code now} in a key that matters. */
    static void check(Path runDirectory, Config now) {
        Path checkpoint = runDirectory.resolve("checkpoints").resolve("last");
        Path resolved = runDirectory.resolve("resolved.conf");
        if (!Files.isDirectory(checkpoint) || !Files.isRegularFile(resolved)) {
            return;
        }
        Config before;
        try {
            before = ConfigFactory.parseFile(resolved.toFile()).resolve();
        } catch (ConfigException e) {
            throw new Peft4jException(resolved + ": cannot read the settings this run was started with (" + e.getMessage()
                    + "); move the run directory away to start a new run", e);
        }
        List<String> changed = changes(before, now);
        if (!changed.isEmpty()) {
            throw new Peft4jException(runDirectory + " holds a checkpoint of a run started with other settings; resuming would mix two runs. Changed: "
                    + String.join("; ", changed) + ". Run again with the same settings to resume, or choose a new run.dir (run.name) to start over");
        }
    }

    /** {@code key: old -> new} for every leaf that differs (missing on one side shows as {@code (unset)}), sorted by key. */
    static List<String> changes(Config before, Config now) {
        Map<String, Object> a = leaves(before);
        Map<String, Object> b = leaves(now);
        Set<String> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        List<String> out = new ArrayList<>();
        for (String key : keys) {
            if (MAY_CHANGE.contains(key) || key.startsWith("peft4j.")) {
                continue; // peft4j.* are substitution sources (peft4j.data): what they point at is compared in the keys that use them
            }
            Object x = a.get(key);
            Object y = b.get(key);
            if (!Objects.equals(normalise(x), normalise(y))) {
                out.add(key + ": " + show(x) + " -> " + show(y));
            }
        }
        return out;
    }

    private static Map<String, Object> leaves(Config config) {
        Map<String, Object> out = new java.util.HashMap<>();
        for (Map.Entry<String, ConfigValue> e : config.entrySet()) {
            out.put(e.getKey(), e.getValue().unwrapped());
        }
        return out;
    }

    /** HOCON numbers parse as Integer, Long or Double depending on spelling: 3 and 3.0 are the same setting. */
    private static Object normalise(Object v) {
        return v instanceof Number n ? (Object) n.doubleValue() : v;
    }

    private static String show(Object v) {
        return v == null ? "(unset)" : v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
    }
}
