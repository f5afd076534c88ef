package dev.peft4j.runtime.train;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.peft4j.api.Peft4jException;

/**
 * Where a run is, saved with each checkpoint so that resuming is exact: the next batch is batch
 * {@code batchInEpoch} of epoch {@code epoch} (the epoch's order depends only on the seed and the
 * epoch), dropout is reseeded per micro-batch from the seed, and the optimizer's moments and step
 * count come back with the weights.
 */
public record TrainState(long step, int epoch, int batchInEpoch, double bestValue, long bestStep, int evalsWithoutImprovement,
        double elapsedSeconds, long examplesSeen, double windowLoss, int windowCount) {
    static TrainState start(boolean lowerIsBetter) {
        return new TrainState(0, 0, 0, lowerIsBetter ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY, -1, 0, 0, 0, 0, 0);
    }

    /**
     * Reads a {@code state.json} written by {@link Checkpointer}, checking every field: present, of its type, in its range
     * ({@code bestValue} may be infinite before the first evaluation). A checkpoint's state is outside input too: a
     * hand-edited or damaged file must fail here, naming the file and field, not resume "at step -7".
     */
    static TrainState parse(String json, String file) {
        JsonObject o;
        try {
            JsonElement e = JsonParser.parseString(json);
            if (!e.isJsonObject()) {
                throw new Peft4jException(file + ": expected a JSON object with the training state, got " + (json.isBlank() ? "an empty file" : abbreviate(json)));
            }
            o = e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new Peft4jException(file + ": not valid JSON (" + rootMessage(e) + "); the checkpoint is damaged", e);
        }
        long step = whole(o, "step", 0, Long.MAX_VALUE, file);
        int epoch = (int) whole(o, "epoch", 0, Integer.MAX_VALUE, file);
        int batchInEpoch = (int) whole(o, "batchInEpoch", 0, Integer.MAX_VALUE, file);
        double bestValue = real(o, "bestValue", true, file);
        long bestStep = whole(o, "bestStep", -1, step, file);
        int bad = (int) whole(o, "evalsWithoutImprovement", 0, Integer.MAX_VALUE, file);
        double elapsed = real(o, "elapsedSeconds", false, file);
        if (elapsed < 0) {
            throw field(file, "elapsedSeconds", o.get("elapsedSeconds"), "a number >= 0");
        }
        long examples = whole(o, "examplesSeen", 0, Long.MAX_VALUE, file);
        double windowLoss = real(o, "windowLoss", false, file);
        int windowCount = (int) whole(o, "windowCount", 0, Integer.MAX_VALUE, file);
        return new TrainState(step, epoch, batchInEpoch, bestValue, bestStep, bad, elapsed, examples, windowLoss, windowCount);
    }

    private static long whole(JsonObject o, String name, long min, long max, String file) {
        JsonElement v = o.get(name);
        String expected = "an integer from " + min + " to " + (max == Long.MAX_VALUE || max == Integer.MAX_VALUE ? "any" : String.valueOf(max));
        if (!(v instanceof JsonPrimitive p) || !p.isNumber()) {
            throw field(file, name, v, expected);
        }
        double d = p.getAsDouble();
        if (d != Math.rint(d) || d < min || d > max) {
            throw field(file, name, v, expected);
        }
        return p.getAsLong();
    }

    private static double real(JsonObject o, String name, boolean infiniteAllowed, String file) {
        JsonElement v = o.get(name);
        if (v instanceof JsonPrimitive p && (p.isNumber() || p.isString())) {
            try {
                double d = Double.parseDouble(p.getAsString());
                if (!Double.isNaN(d) && (infiniteAllowed || Double.isFinite(d))) {
                    return d;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
        }
        throw field(file, name, v, infiniteAllowed ? "a number (or Infinity before the first evaluation)" : "a finite number");
    }

    private static Peft4jException field(String file, String name, JsonElement value, String expected) {
        return new Peft4jException(file + ": field \"" + name + "\" is " + (value == null ? "missing" : value.toString()) + ", expected " + expected
                + "; the checkpoint is damaged or was edited (delete the run directory's checkpoints/ to start over)");
    }

    private static String abbreviate(String s) {
        String t = s.strip();
        return t.length() <= 40 ? t : t.substring(0, 40) + "...";
    }

    private static String rootMessage(Throwable e) {
        while (e.getCause() != null) {
            e = e.getCause();
        }
        return e.getMessage();
    }
}
