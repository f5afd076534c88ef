package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import com.google.gson.GsonBuilder;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.ParameterSchedule;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A run's parameter groups: the method's {@link ParameterSchedule} resolved against the trainable parameters and the
 * run's length. Each parameter gets its learning-rate scale and the update at which it starts training
 * (stage x updates per stage; a stage of {@code unfreeze-every} epochs is that many epochs of updates). Before each
 * update the trainer calls {@link #apply}: parameters whose stage has not started are frozen (no gradient) and
 * inactive in the optimizer. A schedule whose last stage would start at or after the run's last update is refused
 * before the first step, naming the setting.
 */
final class ParameterGroups {
    /** One parameter's group and the update (0-based) from which it trains. */
    record Entry(ParameterSchedule.Group group, long startStep) {}

    /** The schedule's file in each checkpoint; a resume with a different schedule is refused. */
    static final String FILE = "schedule.json";

    private final Map<String, Parameter> parameters;
    private final Map<String, Entry> entries;
    private final boolean trivial;
    private long appliedFor = -1;
    private Set<String> activeNow = Set.of();

    private ParameterGroups(Map<String, Parameter> parameters, Map<String, Entry> entries) {
        this.parameters = parameters;
        this.entries = entries;
        this.trivial = entries.values().stream().allMatch(e -> e.group().learningRateScale() == 1.0 && e.startStep() == 0);
    }

    /**
     * @param totalSteps the run's optimizer updates
     * @param updatesPerEpoch optimizer updates in one epoch (for {@code unfreeze-unit = epochs})
     */
    static ParameterGroups resolve(Map<String, Parameter> parameters, ParameterSchedule schedule, long totalSteps, long updatesPerEpoch) {
        requireNonNull(parameters, "parameters is null");
        requireNonNull(schedule, "schedule is null");
        long perStage = schedule.unfreezeEvery() == 0 ? 0
                : schedule.unfreezeUnit() == ParameterSchedule.Unit.EPOCHS ? (long) schedule.unfreezeEvery() * updatesPerEpoch : schedule.unfreezeEvery();
        Map<String, Entry> entries = new LinkedHashMap<>();
        int lastStage = 0;
        String lastGroup = null;
        for (String name : parameters.keySet()) {
            ParameterSchedule.Group group = requireNonNull(schedule.groupOf(name), "the schedule's group of " + name + " is null");
            if (group.unfreezeStage() > 0 && perStage == 0) {
                throw new Peft4jException("the method's schedule puts " + name + " in unfreezing stage " + group.unfreezeStage()
                        + ", but it has no unfreezing interval (" + schedule.unfreezeSetting() + ")");
            }
            if (group.unfreezeStage() > lastStage) {
                lastStage = group.unfreezeStage();
                lastGroup = group.name();
            }
            entries.put(name, new Entry(group, group.unfreezeStage() * perStage));
        }
        if (lastStage > 0) {
            long lastStart = lastStage * perStage;
            if (lastStart >= totalSteps) {
                long fits = Math.max(0, (totalSteps - 1) / lastStage);
                String fitting = schedule.unfreezeUnit() == ParameterSchedule.Unit.EPOCHS
                        ? "at most " + (updatesPerEpoch == 0 ? 0 : fits / updatesPerEpoch) + " epochs (" + updatesPerEpoch + " updates each)"
                        : "at most " + fits + " steps";
                throw new Peft4jException(schedule.unfreezeSetting() + " is longer than the run: " + (lastStage + 1)
                        + " unfreezing stages, the last (" + lastGroup + ") would start at update " + lastStart + ", but the run has only "
                        + totalSteps + " updates (train.epochs, train.max-steps, train.batch-size); every stage must start before the end: use "
                        + fitting + " per stage, or fewer trainable layers");
            }
        }
        return new ParameterGroups(parameters, entries);
    }

    /** Whether every parameter trains at the base rate from the first update (then nothing is logged or saved). */
    boolean trivial() {
        return trivial;
    }

    Map<String, Double> scales() {
        Map<String, Double> out = new LinkedHashMap<>();
        entries.forEach((k, e) -> out.put(k, e.group().learningRateScale()));
        return out;
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /** The parameters that train at update {@code step} (0-based). */
    Set<String> activeAt(long step) {
        Set<String> out = new LinkedHashSet<>();
        entries.forEach((k, e) -> {
            if (e.startStep() <= step) {
                out.add(k);
            }
        });
        return out;
    }

    /** Before update {@code step}: trainable flags and the optimizer's active set as the schedule says; true when they changed. */
    boolean apply(long step, AdamW adam) {
        if (step == appliedFor) {
            return false;
        }
        appliedFor = step;
        Set<String> active = activeAt(step);
        if (active.equals(activeNow)) {
            return false;
        }
        activeNow = active;
        parameters.forEach((name, p) -> {
            boolean want = active.contains(name);
            if (p.trainable() != want) {
                p.setTrainable(want);
            }
        });
        adam.setActive(active);
        return true;
    }

    /** After training: every scheduled parameter trainable again (what is saved is everything the run trained). */
    void activateAll() {
        parameters.values().forEach(p -> {
            if (!p.trainable()) {
                p.setTrainable(true);
            }
        });
        appliedFor = -1;
        activeNow = Set.of();
    }

    /** One line per group, in first-parameter order: name, learning-rate scale, first update, parameter count. */
    List<String> summary(double baseLearningRate) {
        Map<String, long[]> counts = new LinkedHashMap<>();
        Map<String, Entry> first = new LinkedHashMap<>();
        entries.forEach((k, e) -> {
            counts.computeIfAbsent(e.group().name(), x -> new long[1])[0] += parameters.get(k).size();
            first.putIfAbsent(e.group().name(), e);
        });
        List<String> out = new ArrayList<>();
        first.forEach((name, e) -> out.add(String.format(Locale.ROOT, "  %-28s lr %s (x %s)  from update %d  %,d params", name,
                plain(baseLearningRate * e.group().learningRateScale()), plain(e.group().learningRateScale()), e.startStep(), counts.get(name)[0])));
        return out;
    }

    /** 6 significant digits without trailing zeros ({@code 0.005}, {@code 1}). */
    static String plain(double v) {
        return new java.math.BigDecimal(v).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString();
    }

    /** What a checkpoint stores: every parameter's group, scale and first update. */
    String json() {
        Map<String, Object> out = new LinkedHashMap<>();
        entries.forEach((k, e) -> {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("group", e.group().name());
            v.put("learning_rate_scale", e.group().learningRateScale());
            v.put("start_step", e.startStep());
            out.put(k, v);
        });
        return new GsonBuilder().setPrettyPrinting().create().toJson(Map.of("parameters", out)) + "\n";
    }
}
