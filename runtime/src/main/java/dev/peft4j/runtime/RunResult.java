package dev.peft4j.runtime;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a run produced.
 *
 * @param runDirectory where its outputs are
 * @param metrics final numbers by name, in report order
 */
public record RunResult(Path runDirectory, Map<String, Double> metrics) {
    public RunResult {
        requireNonNull(runDirectory, "runDirectory is null");
        metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    }
}
