package dev.peft4j.runtime.tracking;

import static java.util.Objects.requireNonNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.peft4j.api.spi.RunListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The run's listeners, called in order on the training thread. A listener that throws is logged once (by name) and its
 * later failures are ignored: tracking never fails or stops a run.
 */
public final class RunListeners implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RunListeners.class);
    public static final RunListeners NONE = new RunListeners(Map.of());

    private final Map<String, RunListener> listeners;
    private final Set<String> failed = new HashSet<>();

    /** @param listeners by name ({@code mlflow}), in call order */
    public RunListeners(Map<String, RunListener> listeners) {
        this.listeners = new LinkedHashMap<>(requireNonNull(listeners, "listeners is null"));
    }

    public boolean isEmpty() {
        return listeners.isEmpty();
    }

    public void runStarted(RunListener.RunInfo info) {
        each("runStarted", l -> l.runStarted(info));
    }

    public void parameters(Map<String, String> parameters) {
        each("parameters", l -> l.parameters(Map.copyOf(parameters)));
    }

    public void metrics(String phase, long step, Map<String, ?> values) {
        if (listeners.isEmpty()) {
            return;
        }
        Map<String, Double> numbers = new LinkedHashMap<>();
        values.forEach((k, v) -> {
            if (v instanceof Number n) {
                numbers.put(k, n.doubleValue());
            }
        });
        each("metrics", l -> l.metrics(phase, step, java.util.Collections.unmodifiableMap(numbers)));
    }

    public void finalMetrics(Map<String, Double> metrics) {
        each("finalMetrics", l -> l.finalMetrics(java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metrics))));
    }

    /** Each regular file under {@code runDirectory/relative} (a file or a directory), in name order, as an artifact. */
    public void artifacts(Path runDirectory, String relative) {
        if (listeners.isEmpty()) {
            return;
        }
        Path root = runDirectory.resolve(relative);
        List<Path> files = new ArrayList<>();
        if (Files.isRegularFile(root)) {
            files.add(root);
        } else if (Files.isDirectory(root)) {
            try (Stream<Path> walk = Files.walk(root)) {
                walk.filter(Files::isRegularFile).sorted().forEach(files::add);
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                LOG.warn("cannot list {} for the run listeners: {}", root, e.getMessage());
            }
        }
        for (Path f : files) {
            String artifactPath = runDirectory.relativize(f).toString().replace('\\', '/');
            each("artifact", l -> l.artifact(f, artifactPath));
        }
    }

    public void runFinished(RunListener.Status status) {
        each("runFinished", l -> l.runFinished(status));
    }

    @Override
    public void close() {
        each("close", RunListener::close);
    }

    private void each(String event, Consumer<RunListener> call) {
        listeners.forEach((name, listener) -> {
            try {
                call.accept(listener);
            } catch (RuntimeException | LinkageError e) {
                if (failed.add(name)) {
                    LOG.warn("run listener '{}' failed in {} ({}); the run goes on, and its later failures are not reported", name, event, e.toString());
                }
            }
        });
    }

    /** The config flattened to dotted keys: scalars as their text, lists and empty objects rendered as HOCON (sorted keys). */
    public static Map<String, String> flatten(Config config) {
        Map<String, String> out = new TreeMap<>();
        flatten(config.root(), "", out);
        return out;
    }

    private static void flatten(ConfigValue value, String path, Map<String, String> out) {
        if (value.valueType() == ConfigValueType.OBJECT && !((com.typesafe.config.ConfigObject) value).isEmpty()) {
            ((com.typesafe.config.ConfigObject) value).forEach((k, v) -> flatten(v, path.isEmpty() ? k : path + "." + k, out));
            return;
        }
        Object unwrapped = value.unwrapped();
        out.put(path, unwrapped == null ? "null"
                : value.valueType() == ConfigValueType.STRING || value.valueType() == ConfigValueType.NUMBER
                        || value.valueType() == ConfigValueType.BOOLEAN ? String.valueOf(unwrapped)
                        : value.render(ConfigRenderOptions.concise()));
    }
}
