package dev.peft4j.runtime.plugin;

import ai.djl.ndarray.NDArray;
import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.DatasetReader;
import dev.peft4j.api.spi.DatasetReaderFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.SpiVersion;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TaskHeadFactory;
import dev.peft4j.api.spi.TensorFiles;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A test-only built-in plugin, registered by the test classpath's services file exactly like the
 * built-in modules: method {@code test-freeze} (freezes everything but the named parameters), head
 * {@code test-head} (config only), dataset reader {@code test-lines} (one example per line).
 */
public final class TestBuiltinPlugin implements Peft4jPlugin {
    @Override
    public int spiVersion() {
        return SpiVersion.CURRENT;
    }

    @Override
    public String name() {
        return "peft4j-test";
    }

    @Override
    public List<AdapterMethodFactory<?>> adapterMethods() {
        return List.of(new FreezeFactory());
    }

    @Override
    public List<TaskHeadFactory<?>> taskHeads() {
        return List.of(new HeadFactory());
    }

    @Override
    public List<DatasetReaderFactory<?>> datasetReaders() {
        return List.of(new LinesFactory());
    }

    public record FreezeConfig(List<String> keepTrainable, double scale) {}

    public static final class FreezeFactory implements AdapterMethodFactory<FreezeConfig> {
        @Override
        public String name() {
            return "test-freeze";
        }

        @Override
        public String description() {
            return "freezes every parameter except keep-trainable";
        }

        @Override
        public FreezeConfig parseConfig(Config section) {
            ConfigReader r = new ConfigReader(section, "");
            FreezeConfig c = new FreezeConfig(r.stringList("keep-trainable"), r.doubleValue("scale", 0, false, 10, true));
            r.finish();
            return c;
        }

        @Override
        public Adaptation apply(Module root, FreezeConfig config, PluginContext context) {
            root.setTrainable(false);
            Map<String, Parameter> kept = new LinkedHashMap<>();
            for (String name : config.keepTrainable()) {
                Parameter p = root.namedParameters().get(name);
                if (p == null) {
                    throw new dev.peft4j.api.Peft4jException("test-freeze: no parameter " + name);
                }
                p.setTrainable(true);
                kept.put(name, p);
            }
            return new Adaptation() {
                @Override
                public String method() {
                    return "test-freeze";
                }

                @Override
                public List<String> targetedModules() {
                    return List.of();
                }

                @Override
                public Map<String, Parameter> trainableParameters() {
                    return kept;
                }

                @Override
                public Map<String, NDArray> stateDict() {
                    Map<String, NDArray> m = new LinkedHashMap<>();
                    kept.forEach((k, v) -> m.put(k, v.value()));
                    return m;
                }

                @Override
                public void loadStateDict(Map<String, NDArray> state) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public void save(Path directory, TensorFiles files) {
                    files.write(directory.resolve("kept.safetensors"), stateDict(), Map.of());
                }

                @Override
                public void load(Path directory, TensorFiles files) {
                    throw new UnsupportedOperationException();
                }
            };
        }
    }

    public record HeadConfig(int numLabels) {}

    public static final class HeadFactory implements TaskHeadFactory<HeadConfig> {
        @Override
        public String name() {
            return "test-head";
        }

        @Override
        public HeadConfig parseConfig(Config section) {
            ConfigReader r = new ConfigReader(section, "");
            HeadConfig c = new HeadConfig(r.intValue("num-labels", 2, 1000));
            r.finish();
            return c;
        }

        @Override
        public TaskHead create(TransformerModel backbone, HeadConfig config, PluginContext context) {
            return new TaskHead() {
                @Override
                public Map<String, Module> modules() {
                    return Map.of();
                }

                @Override
                public NDArray forward(ModelOutput backboneOutput, ModelInput input, ForwardContext context) {
                    return backboneOutput.lastHiddenState();
                }

                @Override
                public NDArray loss(NDArray output, NDArray labels, ForwardContext context) {
                    return output.mean();
                }
            };
        }
    }

    public record LinesConfig(boolean lowercase) {}

    public static final class LinesFactory implements DatasetReaderFactory<LinesConfig> {
        @Override
        public String name() {
            return "test-lines";
        }

        @Override
        public LinesConfig parseConfig(Config section) {
            ConfigReader r = new ConfigReader(section, "");
            LinesConfig c = new LinesConfig(r.bool("lowercase"));
            r.finish();
            return c;
        }

        @Override
        public DatasetReader create(LinesConfig config, PluginContext context) {
            return source -> {
                List<DatasetReader.Example> out = new ArrayList<>();
                try (BufferedReader br = new BufferedReader(new InputStreamReader(source.open(), StandardCharsets.UTF_8))) {
                    String line;
                    for (int n = 1; (line = br.readLine()) != null; n++) {
                        out.add(new DatasetReader.Example(Map.of("text", config.lowercase() ? line.toLowerCase(Locale.ROOT) : line),
                                source.name() + ":" + n));
                    }
                }
                return out;
            };
        }
    }
}
