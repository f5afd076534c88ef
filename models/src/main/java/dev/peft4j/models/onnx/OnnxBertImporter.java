package dev.peft4j.models.onnx;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rebuilds a HuggingFace {@code BertModel} state dict and {@code config.json} from a BERT-family
 * ONNX inference graph (the exports langchain4j ships: all-MiniLM-L6-v2, bge-small-en-v1.5,
 * e5-small-v2; torch.onnx exports of {@code BertModel} in general).
 *
 * <p>How initializers map:
 * <ul>
 *   <li>Named initializers that are HF parameter names ({@code encoder.layer.0.attention.self.query.bias},
 *       {@code embeddings.word_embeddings.weight}) are taken as they are.</li>
 *   <li>Linear weights are stored as anonymous {@code onnx::MatMul_NNN} tensors, layout {@code [in, out]}.
 *       Each is named twice, independently: by following the graph (the MatMul consuming it feeds an
 *       Add whose other input is the known bias {@code X.bias}, so the weight is {@code X.weight}), and by
 *       the MatMul node's name ({@code /encoder/layer.0/attention/self/query/MatMul}). When both exist they
 *       must agree. The tensor is transposed to HF's {@code [out, in]}.</li>
 *   <li>Integer tensors and floating-point scalars are graph constants (shape values, {@code position_ids}),
 *       not weights. Any other initializer is an unmapped weight: an error listing it.</li>
 * </ul>
 *
 * <p>How the config is derived: sizes from the embedding and bias shapes; {@code num_hidden_layers} from
 * the layer indices (which must be contiguous); {@code num_attention_heads} from the constant
 * {@code [batch, seq, heads, head_dim]} target of the Reshape that splits each layer's query projection
 * into heads (in all three langchain4j exports: 12 heads of 32, agreeing with the models' published
 * configs and with the graph's attention scale constant sqrt(32)); {@code layer_norm_eps} from
 * LayerNormalization {@code epsilon} attributes, or, for a decomposed LayerNorm, the constant added
 * before each {@code Sqrt}; {@code hidden_act} gelu when the graph computes GELU with {@code Erf}.
 * Every value is checked for consistency across layers.
 */
public final class OnnxBertImporter {
    private static final Pattern HF_NAME = Pattern.compile("embeddings\\.(word_embeddings|position_embeddings|token_type_embeddings)\\.weight"
            + "|embeddings\\.LayerNorm\\.(weight|bias)"
            + "|encoder\\.layer\\.(\\d+)\\.(attention\\.self\\.(query|key|value)|attention\\.output\\.dense|intermediate\\.dense"
            + "|output\\.dense|attention\\.output\\.LayerNorm|output\\.LayerNorm)\\.(weight|bias)"
            + "|pooler\\.dense\\.(weight|bias)");
    private static final Pattern LAYER = Pattern.compile("encoder\\.layer\\.(\\d+)\\..*");
    /** {@code /encoder/layer.0/attention/self/query/MatMul} (torch.onnx scope names). */
    private static final Pattern MATMUL_NODE = Pattern.compile("/?(.+)/MatMul(_\\d+)?");

    /** One imported tensor in HF layout, row-major. */
    public record ImportedTensor(long[] shape, float[] data) {
        public ImportedTensor {
            requireNonNull(shape, "shape is null");
            requireNonNull(data, "data is null");
            if (Arrays.stream(shape).reduce(1, Math::multiplyExact) != data.length) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not match " + data.length + " values");
            }
        }
    }

    /**
     * The result of an import: the derived HF config, the tensors by HF name in state-dict order, and the
     * initializers recognised as graph constants (not weights), for the record.
     */
    public record ImportedBert(Map<String, Object> config, Map<String, ImportedTensor> tensors, List<String> constants) {
        public ImportedBert {
            config = Collections.unmodifiableMap(new LinkedHashMap<>(config));
            tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            constants = List.copyOf(constants);
        }

        public long parameterCount() {
            return tensors.values().stream().mapToLong(t -> t.data().length).sum();
        }
    }

    private final OnnxModel model;
    private final Map<String, OnnxNode> producers = new LinkedHashMap<>();
    private final Map<String, List<OnnxNode>> consumers = new LinkedHashMap<>();

    private OnnxBertImporter(OnnxModel model) {
        this.model = model;
        for (OnnxNode node : model.nodes()) {
            for (String output : node.outputs()) {
                producers.put(output, node);
            }
            for (String input : node.inputs()) {
                consumers.computeIfAbsent(input, k -> new ArrayList<>()).add(node);
            }
        }
    }

    /** Imports a BERT-family encoder graph. Errors name the ONNX file and the offending tensors. */
    public static ImportedBert importModel(OnnxModel model) {
        return new OnnxBertImporter(requireNonNull(model, "model is null")).run();
    }

    private ImportedBert run() {
        Map<String, OnnxTensor> byHfName = new LinkedHashMap<>();
        Map<String, Boolean> transposed = new LinkedHashMap<>();
        List<String> constants = new ArrayList<>();
        List<String> unmapped = new ArrayList<>();
        for (OnnxTensor tensor : model.initializers().values()) {
            String name = tensor.name();
            String hfName;
            boolean transpose;
            if (HF_NAME.matcher(name).matches()) {
                hfName = name;
                transpose = namedWeightIsInOut(tensor);
            } else if (isMatMulWeight(name)) {
                hfName = nameLinearWeight(tensor);
                transpose = true;
            } else if (!tensor.isFloatingPoint() || tensor.elementCount() <= 1) {
                constants.add(name);
                continue;
            } else {
                unmapped.add(tensor.toString());
                continue;
            }
            if (byHfName.putIfAbsent(hfName, tensor) != null) {
                throw error("both '" + byHfName.get(hfName).name() + "' and '" + name + "' map to " + hfName);
            }
            transposed.put(hfName, transpose);
        }
        if (!unmapped.isEmpty()) {
            throw error("unmapped weight initializers (not HF BERT names, not consumed by a nameable MatMul): " + unmapped);
        }

        Map<String, Object> config = deriveConfig(byHfName);
        Map<String, long[]> expected = expectedShapes(config, byHfName.containsKey("pooler.dense.weight"));
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            OnnxTensor t = byHfName.get(e.getKey());
            if (t == null) {
                problems.add("missing " + e.getKey() + " " + Arrays.toString(e.getValue()));
                continue;
            }
            long[] shape = hfShape(t, transposed.get(e.getKey()));
            if (!Arrays.equals(shape, e.getValue())) {
                problems.add(e.getKey() + " (from '" + t.name() + "') has shape " + Arrays.toString(shape) + ", expected "
                        + Arrays.toString(e.getValue()));
            }
        }
        for (String name : byHfName.keySet()) {
            if (!expected.containsKey(name)) {
                problems.add("unexpected " + name + " (from '" + byHfName.get(name).name() + "')");
            }
        }
        if (!problems.isEmpty()) {
            throw error("the initializers do not form a BERT model with the derived config " + config + ": " + problems
                    + sharedInitializers(byHfName.values()));
        }

        Map<String, ImportedTensor> tensors = new LinkedHashMap<>();
        for (String name : expected.keySet()) {
            OnnxTensor t = byHfName.get(name);
            if (!t.isFloatingPoint()) {
                throw error(name + " (from '" + t.name() + "') has non-floating-point data type " + t.dataType());
            }
            float[] data = t.toFloatArray();
            long[] dims = t.dims();
            if (transposed.get(name)) {
                data = transpose(data, (int) dims[0], (int) dims[1]);
            }
            tensors.put(name, new ImportedTensor(hfShape(t, transposed.get(name)), data));
        }
        return new ImportedBert(config, tensors, constants);
    }

    /**
     * Exporters merge identical initializers (freshly initialised all-zero biases, all-one LayerNorm
     * weights) into one, which then feeds several modules: say so, since it explains missing tensors.
     */
    private String sharedInitializers(java.util.Collection<OnnxTensor> tensors) {
        List<String> shared = new ArrayList<>();
        for (OnnxTensor t : tensors) {
            java.util.Set<String> scopes = new java.util.TreeSet<>();
            for (OnnxNode user : consumers.getOrDefault(t.name(), List.of())) {
                int slash = user.name().lastIndexOf('/');
                scopes.add(slash > 0 ? user.name().substring(0, slash) : user.name());
            }
            if (scopes.size() > 1) {
                shared.add(t.name() + " feeds " + scopes);
            }
        }
        return shared.isEmpty() ? "" : "; some initializers are shared by several modules (the exporter merged identical "
                + "tensors, e.g. untrained zero biases; export without initializer deduplication): " + shared;
    }

    // ---- naming linear weights -----------------------------------------------------------------

    /**
     * A named HF weight is stored as HF has it ({@code [out, in]}, used by {@code Gemm(transB=1)}, as
     * torch.onnx exports the pooler) unless the graph multiplies by it as {@code [in, out]}: as MatMul's
     * second input, or as Gemm's B without transB.
     */
    private boolean namedWeightIsInOut(OnnxTensor tensor) {
        if (tensor.rank() != 2 || !tensor.name().endsWith(".weight") || tensor.name().startsWith("embeddings.")) {
            return false;
        }
        boolean inOut = false;
        boolean outIn = false;
        for (OnnxNode user : consumers.getOrDefault(tensor.name(), List.of())) {
            boolean isB = user.inputs().size() > 1 && user.inputs().get(1).equals(tensor.name());
            if (user.opType().equals("MatMul") && isB) {
                inOut = true;
            } else if (user.opType().equals("Gemm") && isB) {
                OnnxAttribute transB = user.attribute("transB");
                if (transB != null && transB.intValue() != 0) {
                    outIn = true;
                } else {
                    inOut = true;
                }
            }
        }
        if (inOut && outIn) {
            throw error("weight '" + tensor.name() + "' is used both as [in, out] and as [out, in]");
        }
        return inOut;
    }

    private boolean isMatMulWeight(String initializer) {
        List<OnnxNode> users = consumers.getOrDefault(initializer, List.of());
        return !users.isEmpty() && users.stream()
                .allMatch(n -> n.opType().equals("MatMul") && n.inputs().size() == 2 && n.inputs().get(1).equals(initializer));
    }

    private String nameLinearWeight(OnnxTensor tensor) {
        if (tensor.rank() != 2) {
            throw error("MatMul weight '" + tensor.name() + "' has shape " + Arrays.toString(tensor.dims()) + ", expected [in, out]");
        }
        String name = null;
        for (OnnxNode matMul : consumers.get(tensor.name())) {
            String byBias = nameByBias(matMul);
            String byNode = nameByNodeName(matMul);
            if (byBias != null && byNode != null && !byBias.equals(byNode)) {
                throw error("MatMul weight '" + tensor.name() + "': the bias it feeds names it " + byBias + " but its node '"
                        + matMul.name() + "' names it " + byNode);
            }
            String candidate = byBias != null ? byBias : byNode;
            if (candidate == null) {
                throw error("MatMul weight '" + tensor.name() + "' (node '" + matMul.name() + "') cannot be named: its output "
                        + "feeds no Add with a known HF bias and the node name is not an HF module path");
            }
            if (name != null && !name.equals(candidate)) {
                throw error("MatMul weight '" + tensor.name() + "' is used as both " + name + " and " + candidate);
            }
            name = candidate;
        }
        return name;
    }

    /** The MatMul's output feeds {@code Add(X.bias, ...)}: the weight is {@code X.weight}. */
    private String nameByBias(OnnxNode matMul) {
        for (OnnxNode add : consumers.getOrDefault(matMul.outputs().get(0), List.of())) {
            if (!add.opType().equals("Add")) {
                continue;
            }
            for (String input : add.inputs()) {
                if (input.endsWith(".bias") && model.initializers().containsKey(input)) {
                    String weight = input.substring(0, input.length() - ".bias".length()) + ".weight";
                    if (HF_NAME.matcher(weight).matches()) {
                        return weight;
                    }
                }
            }
        }
        return null;
    }

    /** {@code /encoder/layer.0/attention/self/query/MatMul} names {@code encoder.layer.0.attention.self.query.weight}. */
    private static String nameByNodeName(OnnxNode matMul) {
        Matcher m = MATMUL_NODE.matcher(matMul.name());
        if (!m.matches()) {
            return null;
        }
        String weight = m.group(1).replace('/', '.') + ".weight";
        return HF_NAME.matcher(weight).matches() ? weight : null;
    }

    // ---- config --------------------------------------------------------------------------------

    private Map<String, Object> deriveConfig(Map<String, OnnxTensor> byHfName) {
        long[] words = require(byHfName, "embeddings.word_embeddings.weight").dims();
        long[] positions = require(byHfName, "embeddings.position_embeddings.weight").dims();
        long[] types = require(byHfName, "embeddings.token_type_embeddings.weight").dims();
        if (words.length != 2 || positions.length != 2 || types.length != 2) {
            throw error("embedding tables must be rank 2: word " + Arrays.toString(words) + ", position "
                    + Arrays.toString(positions) + ", token type " + Arrays.toString(types));
        }
        int hidden = (int) words[1];
        TreeSet<Integer> layers = new TreeSet<>();
        for (String name : byHfName.keySet()) {
            Matcher m = LAYER.matcher(name);
            if (m.matches()) {
                layers.add(Integer.parseInt(m.group(1)));
            }
        }
        if (layers.isEmpty() || layers.first() != 0 || layers.last() != layers.size() - 1) {
            throw error("encoder layer indices must be 0..N-1, found " + layers);
        }
        long[] intermediate = require(byHfName, "encoder.layer.0.intermediate.dense.bias").dims();
        int heads = numAttentionHeads(layers.size(), hidden);

        Map<String, Object> config = new LinkedHashMap<>();
        config.put("architectures", List.of("BertModel"));
        config.put("attention_probs_dropout_prob", 0.1);
        config.put("hidden_act", hiddenAct());
        config.put("hidden_dropout_prob", 0.1);
        config.put("hidden_size", hidden);
        config.put("initializer_range", 0.02);
        config.put("intermediate_size", (int) intermediate[0]);
        config.put("layer_norm_eps", layerNormEps());
        config.put("max_position_embeddings", (int) positions[0]);
        config.put("model_type", "bert");
        config.put("num_attention_heads", heads);
        config.put("num_hidden_layers", layers.size());
        config.put("pad_token_id", 0);
        config.put("position_embedding_type", "absolute");
        config.put("type_vocab_size", (int) types[0]);
        config.put("vocab_size", (int) words[0]);
        return config;
    }

    private OnnxTensor require(Map<String, OnnxTensor> byHfName, String name) {
        OnnxTensor t = byHfName.get(name);
        if (t == null) {
            throw error("no initializer for " + name + "; this does not look like a BERT-family encoder export "
                    + "(initializers: " + abbreviate(model.initializers().keySet()) + ")");
        }
        return t;
    }

    /**
     * Heads from the Reshape that splits each layer's query projection {@code [batch, seq, hidden]} into
     * {@code [batch, seq, heads, head_dim]}; its target shape is a Concat of two dynamic values and two
     * constants (or one constant tensor).
     */
    private int numAttentionHeads(int layers, int hidden) {
        Integer heads = null;
        for (int layer = 0; layer < layers; layer++) {
            String bias = "encoder.layer." + layer + ".attention.self.query.bias";
            for (OnnxNode add : consumers.getOrDefault(bias, List.of())) {
                for (OnnxNode reshape : consumers.getOrDefault(add.outputs().get(0), List.of())) {
                    if (!reshape.opType().equals("Reshape") || reshape.inputs().size() < 2) {
                        continue;
                    }
                    long[] target = shapeValues(reshape.inputs().get(1));
                    if (target == null || target.length != 4) {
                        continue;
                    }
                    long h = target[2];
                    long d = target[3];
                    if (h == -1 && d > 0 && hidden % d == 0) {
                        h = hidden / d;
                    } else if (d == -1 && h > 0 && hidden % h == 0) {
                        d = hidden / h;
                    }
                    if (h <= 0 || d <= 0 || h * d != hidden) {
                        throw error("Reshape '" + reshape.name() + "' splits the query of layer " + layer + " into "
                                + Arrays.toString(target) + ", which does not divide hidden size " + hidden + " into heads");
                    }
                    if (heads != null && heads != h) {
                        throw error("layers disagree on the number of attention heads: " + heads + " and " + h + " (Reshape '"
                                + reshape.name() + "')");
                    }
                    heads = (int) h;
                }
            }
        }
        if (heads == null) {
            throw error("cannot derive num_attention_heads: no Reshape of a query projection to a constant "
                    + "[batch, seq, heads, head_dim] shape was found in the graph");
        }
        return heads;
    }

    /** A shape operand's values: a constant tensor, or a Concat of constants and dynamic values (null). */
    private long[] shapeValues(String value) {
        long[] constant = constantLongs(value);
        if (constant != null) {
            return constant;
        }
        OnnxNode producer = producers.get(value);
        if (producer == null || !producer.opType().equals("Concat")) {
            return null;
        }
        List<Long> values = new ArrayList<>();
        for (String input : producer.inputs()) {
            long[] part = constantLongs(input);
            if (part == null) {
                values.add(Long.MIN_VALUE); // dynamic (batch or sequence length)
            } else {
                for (long v : part) {
                    values.add(v);
                }
            }
        }
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    private long[] constantLongs(String value) {
        OnnxTensor t = constant(value);
        if (t == null || t.isFloatingPoint() || t.elementCount() > 16) {
            return null;
        }
        return t.toLongArray();
    }

    /** The tensor behind a value name when it is an initializer or a Constant node's output. */
    private OnnxTensor constant(String value) {
        OnnxTensor initializer = model.initializers().get(value);
        if (initializer != null) {
            return initializer;
        }
        OnnxNode producer = producers.get(value);
        if (producer != null && producer.opType().equals("Constant")) {
            OnnxAttribute attribute = producer.attribute("value");
            return attribute == null ? null : attribute.tensor();
        }
        return null;
    }

    private double layerNormEps() {
        List<Float> found = new ArrayList<>();
        for (OnnxNode node : model.nodes()) {
            if (node.opType().equals("LayerNormalization")) {
                OnnxAttribute eps = node.attribute("epsilon");
                found.add(eps == null ? 1e-5f : eps.floatValue()); // ONNX default
            } else if (node.opType().equals("Sqrt")) {
                // decomposed LayerNorm: sqrt(mean((x - mean)^2) + eps)
                OnnxNode add = producers.get(node.inputs().get(0));
                if (add == null || !add.opType().equals("Add")) {
                    continue;
                }
                for (String input : add.inputs()) {
                    OnnxTensor t = constant(input);
                    if (t != null && t.isFloatingPoint() && t.elementCount() == 1) {
                        found.add((float) t.scalarValue());
                    }
                }
            }
        }
        if (found.isEmpty()) {
            throw error("cannot derive layer_norm_eps: no LayerNormalization node and no Sqrt(Add(variance, eps)) pattern");
        }
        float eps = found.get(0);
        for (float f : found) {
            if (f != eps) {
                throw error("LayerNorms disagree on epsilon: " + eps + " and " + f);
            }
        }
        // The graph holds a float32; its shortest decimal form is the value the config was written with (1e-12).
        return Double.parseDouble(Float.toString(eps));
    }

    private String hiddenAct() {
        boolean erf = model.nodes().stream().anyMatch(n -> n.opType().equals("Erf"));
        if (!erf) {
            throw error("cannot identify the activation: no Erf node (expected the exact GELU of BERT, hidden_act gelu)");
        }
        return "gelu";
    }

    private static Map<String, long[]> expectedShapes(Map<String, Object> config, boolean pooler) {
        long h = (Integer) config.get("hidden_size");
        long i = (Integer) config.get("intermediate_size");
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("embeddings.word_embeddings.weight", new long[] {(Integer) config.get("vocab_size"), h});
        shapes.put("embeddings.position_embeddings.weight", new long[] {(Integer) config.get("max_position_embeddings"), h});
        shapes.put("embeddings.token_type_embeddings.weight", new long[] {(Integer) config.get("type_vocab_size"), h});
        shapes.put("embeddings.LayerNorm.weight", new long[] {h});
        shapes.put("embeddings.LayerNorm.bias", new long[] {h});
        for (int layer = 0; layer < (Integer) config.get("num_hidden_layers"); layer++) {
            String p = "encoder.layer." + layer + ".";
            for (String linear : List.of("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense")) {
                shapes.put(p + linear + ".weight", new long[] {h, h});
                shapes.put(p + linear + ".bias", new long[] {h});
            }
            shapes.put(p + "attention.output.LayerNorm.weight", new long[] {h});
            shapes.put(p + "attention.output.LayerNorm.bias", new long[] {h});
            shapes.put(p + "intermediate.dense.weight", new long[] {i, h});
            shapes.put(p + "intermediate.dense.bias", new long[] {i});
            shapes.put(p + "output.dense.weight", new long[] {h, i});
            shapes.put(p + "output.dense.bias", new long[] {h});
            shapes.put(p + "output.LayerNorm.weight", new long[] {h});
            shapes.put(p + "output.LayerNorm.bias", new long[] {h});
        }
        if (pooler) {
            shapes.put("pooler.dense.weight", new long[] {h, h});
            shapes.put("pooler.dense.bias", new long[] {h});
        }
        return shapes;
    }

    private static long[] hfShape(OnnxTensor t, boolean transpose) {
        long[] dims = t.dims();
        return transpose && dims.length == 2 ? new long[] {dims[1], dims[0]} : dims;
    }

    /** {@code [rows, cols]} row-major to {@code [cols, rows]}. */
    static float[] transpose(float[] data, int rows, int cols) {
        float[] out = new float[data.length];
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = data[base + c];
            }
        }
        return out;
    }

    private static String abbreviate(java.util.Collection<String> names) {
        List<String> list = new ArrayList<>(names);
        return list.size() <= 12 ? list.toString() : list.subList(0, 12) + " ... (" + list.size() + " in all)";
    }

    private OnnxFormatException error(String message) {
        return new OnnxFormatException(model.source() + ": " + message);
    }
}
