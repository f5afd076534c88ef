package dev.peft4j.adapters.prompt;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.AttentionShape;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.TensorFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * HF PEFT's files for prompt learning, both ways: {@code adapter_config.json} ({@code peft_type}
 * {@code PREFIX_TUNING} or {@code PROMPT_TUNING}, with PEFT's field names) and {@code adapter_model.safetensors}
 * ({@code prompt_embeddings}, plus peft4j's projection MLP tensors, which PEFT ignores).
 */
public final class PeftPromptFiles {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";

    private PeftPromptFiles() {}

    /** What an {@code adapter_config.json} of a prompt-learning adapter says. */
    public record PeftPromptConfig(PromptLearningModel.Kind kind, int numVirtualTokens, int numLayers, int numAttentionHeads, int tokenDim,
            boolean prefixProjection, int encoderHiddenSize, String source) {}

    /** Whether {@code directory} holds a PEFT prefix- or prompt-tuning adapter. */
    public static boolean isPromptLearning(Path directory) {
        Path file = directory.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            return false;
        }
        Config c = parse(file);
        if (!c.hasPath("peft_type") || c.getValue("peft_type").valueType() != com.typesafe.config.ConfigValueType.STRING) {
            return false;
        }
        String type = c.getString("peft_type");
        return type.equals("PREFIX_TUNING") || type.equals("PROMPT_TUNING");
    }

    public static PeftPromptConfig readConfig(Path directory) {
        Path file = requireNonNull(directory, "directory is null").resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new Peft4jException(directory + ": no " + CONFIG_FILE + " (not a PEFT adapter directory)");
        }
        try {
            return readConfig(file, parse(file));
        } catch (com.typesafe.config.ConfigException e) {
            // a value of the wrong type (peft_type a list, prefix_projection a number...): name the file and the key
            throw new Peft4jException(file + ": " + e.getMessage(), e);
        }
    }

    private static PeftPromptConfig readConfig(Path file, Config c) {
        String type = c.hasPath("peft_type") ? c.getString("peft_type") : "(missing)";
        PromptLearningModel.Kind kind = switch (type) {
            case "PREFIX_TUNING" -> PromptLearningModel.Kind.PREFIX_TUNING;
            case "PROMPT_TUNING" -> PromptLearningModel.Kind.PROMPT_TUNING;
            default -> throw new Peft4jException(file + ": peft_type is " + type + ", expected PREFIX_TUNING or PROMPT_TUNING");
        };
        int tokens = integer(c, file, "num_virtual_tokens");
        if (tokens <= 0) {
            throw new Peft4jException(file + ": num_virtual_tokens is " + tokens + ", expected > 0");
        }
        if (c.hasPath("num_transformer_submodules") && integer(c, file, "num_transformer_submodules") != 1) {
            throw new Peft4jException(file + ": num_transformer_submodules = " + c.getInt("num_transformer_submodules")
                    + " (encoder-decoder models) is not supported; expected 1");
        }
        boolean projection = c.hasPath("prefix_projection") && c.getBoolean("prefix_projection");
        int hidden = c.hasPath("encoder_hidden_size") ? integer(c, file, "encoder_hidden_size") : 0;
        return new PeftPromptConfig(kind, tokens, c.hasPath("num_layers") ? integer(c, file, "num_layers") : 0,
                c.hasPath("num_attention_heads") ? integer(c, file, "num_attention_heads") : 0,
                c.hasPath("token_dim") ? integer(c, file, "token_dim") : 0, projection, hidden, file.toString());
    }

    /**
     * Builds the adapter saved in {@code directory} (by peft4j or HF PEFT) on {@code model}, with {@code root}
     * its tree (or a task model's), and loads its weights: what {@code generate --adapter} and evaluation of a
     * PEFT adapter use. A prefix saved by PEFT with the projection (its file holds only the final prefix) is
     * built without the projection, as PEFT does in inference mode. On any error nothing has changed.
     */
    public static PromptLearningModel load(TransformerModel model, Module root, Path directory, TensorFiles files, long seed) {
        PeftPromptConfig config = readConfig(directory);
        checkShape(config, model);
        Path weights = weightsFile(directory);
        boolean hasMlp;
        try (NDManager temp = model.manager().newSubManager()) {
            Map<String, NDArray> tensors = files.read(weights, temp);
            hasMlp = tensors.keySet().stream().anyMatch(k -> k.startsWith(PromptLearningModel.OWN_PREFIX));
        }
        PromptLearningModel adaptation = switch (config.kind()) {
            case PREFIX_TUNING -> PrefixTuningMethod.apply(model, root,
                    new PrefixTuningConfig(config.numVirtualTokens(), config.prefixProjection() && hasMlp,
                            config.prefixProjection() && hasMlp ? config.encoderHiddenSize() : 0), seed);
            case PROMPT_TUNING -> PromptTuningMethod.apply(model, root, new PromptTuningConfig(config.numVirtualTokens(), "random", ""), null, seed);
        };
        try {
            adaptation.load(directory, files);
        } catch (RuntimeException e) {
            adaptation.unload();
            throw e;
        }
        return adaptation;
    }

    static void loadInto(PromptLearningModel adaptation, Path directory, TensorFiles files, NDManager parent) {
        PeftPromptConfig config = readConfig(directory);
        if (config.kind() != adaptation.kind()) {
            throw new Peft4jException(config.source() + ": peft_type is " + config.kind() + ", but this adaptation is " + adaptation.method());
        }
        checkShape(config, adaptation.model());
        if (config.numVirtualTokens() != adaptation.numVirtualTokens()) {
            throw new Peft4jException(config.source() + ": num_virtual_tokens is " + config.numVirtualTokens() + ", but this adaptation has "
                    + adaptation.numVirtualTokens() + " (num-virtual-tokens)");
        }
        try (NDManager temp = parent.newSubManager()) {
            adaptation.loadStateDict(files.read(weightsFile(directory), temp));
        }
    }

    /** The adapter's layer count and key/value shape must be the model's; the error names both. */
    static void checkShape(PeftPromptConfig config, TransformerModel model) {
        AttentionShape shape = model.attentionShape();
        int layers = shape.layers();
        int heads = config.kind() == PromptLearningModel.Kind.PREFIX_TUNING ? shape.kvHeads() : shape.heads();
        int tokenDim = config.kind() == PromptLearningModel.Kind.PREFIX_TUNING ? shape.kvDim() : shape.hidden();
        boolean layersDiffer = config.numLayers() != 0 && config.numLayers() != layers;
        boolean headsDiffer = config.kind() == PromptLearningModel.Kind.PREFIX_TUNING && config.numAttentionHeads() != 0
                && config.numAttentionHeads() != heads;
        boolean dimDiffers = config.tokenDim() != 0 && config.tokenDim() != tokenDim;
        if (layersDiffer || headsDiffer || dimDiffers) {
            throw new Peft4jException(config.source() + ": the adapter was made for num_layers=" + config.numLayers() + " num_attention_heads="
                    + config.numAttentionHeads() + " token_dim=" + config.tokenDim() + ", but this model has num_layers=" + layers
                    + " num_attention_heads=" + heads + " token_dim=" + tokenDim + " (" + shape.describe() + ")");
        }
    }

    static void save(PromptLearningModel adaptation, Path directory, TensorFiles files) {
        try {
            Files.createDirectories(directory);
            files.write(directory.resolve(WEIGHTS_FILE), adaptation.stateDict(), Map.of("format", "pt"));
            Files.writeString(directory.resolve(CONFIG_FILE), toJson(adaptation.peftConfig()) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Peft4jException("cannot write the adapter into " + directory + ": " + e.getMessage(), e);
        }
    }

    /** PEFT's {@code adapter_config.json} fields for {@code model}. */
    static Map<String, Object> peftConfig(PromptLearningModel.Kind kind, TransformerModel model, int numVirtualTokens,
            Map<String, Object> methodFields) {
        AttentionShape shape = model.attentionShape();
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("task_type", model.isCausalLm() ? "CAUSAL_LM" : "FEATURE_EXTRACTION");
        c.put("peft_type", kind == PromptLearningModel.Kind.PREFIX_TUNING ? "PREFIX_TUNING" : "PROMPT_TUNING");
        c.put("auto_mapping", null);
        c.put("base_model_name_or_path", baseModelPath(model));
        c.put("revision", null);
        c.put("inference_mode", true);
        c.put("num_virtual_tokens", numVirtualTokens);
        boolean prefix = kind == PromptLearningModel.Kind.PREFIX_TUNING;
        c.put("token_dim", prefix ? shape.kvDim() : shape.hidden());
        c.put("num_transformer_submodules", 1);
        c.put("num_attention_heads", prefix ? shape.kvHeads() : shape.heads());
        c.put("num_layers", shape.layers());
        c.put("modules_to_save", null);
        c.putAll(methodFields);
        return c;
    }

    private static String baseModelPath(TransformerModel model) {
        if (model.config() == null) {
            return null;
        }
        Path source = Path.of(model.config().source());
        return source.getFileName() != null && source.getFileName().toString().equals("config.json") && source.getParent() != null
                ? source.getParent().toString() : null;
    }

    private static Path weightsFile(Path directory) {
        Path weights = directory.resolve(WEIGHTS_FILE);
        if (!Files.isRegularFile(weights)) {
            throw new Peft4jException(directory + ": no " + WEIGHTS_FILE + " (PEFT's pickled adapter_model.bin is not read: pickle is code)");
        }
        return weights;
    }

    private static Config parse(Path file) {
        try {
            return ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setSyntax(ConfigSyntax.JSON).setAllowMissing(false));
        } catch (com.typesafe.config.ConfigException e) {
            // found by ConfigFilesFuzzTest: a duplicate field (or any JSON error) escaped as a raw ConfigException
            throw new Peft4jException(file + ": not a valid adapter_config.json (" + e.getMessage() + ")", e);
        }
    }

    private static int integer(Config c, Path file, String key) {
        try {
            return c.getInt(key);
        } catch (com.typesafe.config.ConfigException e) {
            throw new Peft4jException(file + ": field \"" + key + "\" is not an integer: " + e.getMessage(), e);
        }
    }

    /** Minimal JSON for the config's values: null, booleans, numbers, strings, lists of those. */
    static String toJson(Map<String, Object> map) {
        StringBuilder sb = new StringBuilder("{\n");
        int i = 0;
        for (Map.Entry<String, Object> e : map.entrySet()) {
            sb.append("  ").append(quote(e.getKey())).append(": ").append(value(e.getValue()));
            sb.append(++i < map.size() ? ",\n" : "\n");
        }
        return sb.append('}').toString();
    }

    private static String value(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Boolean || v instanceof Number) {
            return v.toString();
        }
        if (v instanceof List<?> list) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < list.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(value(list.get(i)));
            }
            return sb.append(']').toString();
        }
        return quote(v.toString());
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        sb.append(String.format("\\u%04x", (int) ch));
                    } else {
                        sb.append(ch);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
