package dev.peft4j.runtime.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.Peft4jException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code metrics.jsonl}: one JSON object per logged training step ({@code "type":"train"}) and per
 * evaluation ({@code "type":"eval"}), each with {@code step} and {@code epoch}. On resume, lines after
 * the checkpoint's step are dropped so that the file reads as if the run had never stopped.
 */
public final class MetricsLog {
    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().disableHtmlEscaping().create();
    private final Path file;

    public MetricsLog(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    public void append(String type, long step, int epoch, Map<String, ?> values) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("type", type);
        line.put("step", step);
        line.put("epoch", epoch);
        values.forEach((k, v) -> line.put(k, v instanceof Double d && (d.isNaN() || d.isInfinite()) ? null : v));
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, GSON.toJson(line) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new Peft4jException("cannot append to " + file + ": " + e.getMessage(), e);
        }
    }

    /** Keeps only lines with {@code step <= lastStep}. */
    public void truncateAfter(long lastStep) {
        List<String> kept = new ArrayList<>();
        for (JsonObject o : read(file)) {
            if (o.get("step").getAsLong() <= lastStep) {
                kept.add(GSON.toJson(o));
            }
        }
        try {
            Files.write(file, kept, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Peft4jException("cannot rewrite " + file + ": " + e.getMessage(), e);
        }
    }

    public static List<JsonObject> read(Path file) {
        List<JsonObject> out = new ArrayList<>();
        if (!Files.exists(file)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.add(JsonParser.parseString(line).getAsJsonObject());
                }
            }
        } catch (IOException e) {
            throw new Peft4jException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return out;
    }
}
