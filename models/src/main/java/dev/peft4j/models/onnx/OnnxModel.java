package dev.peft4j.models.onnx;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX {@code ModelProto} an importer needs: the main graph's nodes, initializers,
 * inputs and outputs. Read with a small protobuf wire-format reader (no protobuf dependency); the
 * file is memory-mapped and initializer data stays in the mapping until converted.
 *
 * <p>Field numbers, checked against onnx.proto (onnx 1.x): ModelProto ir_version=1, opset_import=8,
 * graph=7; GraphProto node=1, name=2, initializer=5, input=11, output=12; ValueInfoProto name=1;
 * OperatorSetIdProto domain=1, version=2. Anything else is skipped by wire type.
 */
public final class OnnxModel {
    private final String source;
    private final long irVersion;
    private final Map<String, Long> opsets;
    private final List<OnnxNode> nodes;
    private final Map<String, OnnxTensor> initializers;
    private final List<String> inputs;
    private final List<String> outputs;

    private OnnxModel(String source, long irVersion, Map<String, Long> opsets, List<OnnxNode> nodes,
            Map<String, OnnxTensor> initializers, List<String> inputs, List<String> outputs) {
        this.source = source;
        this.irVersion = irVersion;
        this.opsets = Collections.unmodifiableMap(opsets);
        this.nodes = List.copyOf(nodes);
        this.initializers = Collections.unmodifiableMap(initializers);
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
    }

    /** Reads (memory-maps) an {@code .onnx} file. Errors name the file. */
    public static OnnxModel read(Path file) {
        requireNonNull(file, "file is null");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size > Integer.MAX_VALUE) {
                throw new OnnxFormatException(file + ": " + size + " bytes is larger than a protobuf message can be (2 GB);"
                        + " large ONNX models keep weights in external data files");
            }
            ByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size);
            return read(mapped, file.toString(), file.toAbsolutePath().getParent());
        } catch (NoSuchFileException e) {
            throw new OnnxFormatException("ONNX file not found: " + file, e);
        } catch (IOException e) {
            throw new OnnxFormatException(file + ": cannot read ONNX file: " + e.getMessage(), e);
        }
    }

    /**
     * Parses a ModelProto from bytes.
     *
     * @param source names the bytes in error messages (a file path)
     * @param baseDirectory where external tensor data files live, or null
     */
    public static OnnxModel read(ByteBuffer bytes, String source, Path baseDirectory) {
        requireNonNull(bytes, "bytes is null");
        requireNonNull(source, "source is null");
        try {
            return parseModel(new ProtoReader(bytes, source, 0), source, baseDirectory);
        } catch (OnnxFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            // A bounds check this reader missed must still surface as a format error naming the file.
            throw new OnnxFormatException(source + ": malformed ONNX file: " + e, e);
        }
    }

    private static OnnxModel parseModel(ProtoReader in, String source, Path baseDirectory) {
        long irVersion = 0;
        Map<String, Long> opsets = new LinkedHashMap<>();
        List<OnnxNode> nodes = new ArrayList<>();
        Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        boolean hasGraph = false;
        while (in.hasMore()) {
            int tag = in.readTag();
            switch (tag >>> 3) {
                case 1 -> {
                    in.expect(tag, ProtoReader.VARINT, "ModelProto.ir_version");
                    irVersion = in.readVarint();
                }
                case 7 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "ModelProto.graph");
                    parseGraph(in.readMessage(), source, baseDirectory, nodes, initializers, inputs, outputs);
                    hasGraph = true;
                }
                case 8 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "ModelProto.opset_import");
                    ProtoReader opset = in.readMessage();
                    String domain = "";
                    long version = 0;
                    while (opset.hasMore()) {
                        int t = opset.readTag();
                        if ((t >>> 3) == 1) {
                            opset.expect(t, ProtoReader.LENGTH_DELIMITED, "OperatorSetIdProto.domain");
                            domain = opset.readString();
                        } else if ((t >>> 3) == 2) {
                            opset.expect(t, ProtoReader.VARINT, "OperatorSetIdProto.version");
                            version = opset.readVarint();
                        } else {
                            opset.skip(t & 7);
                        }
                    }
                    opsets.put(domain, version);
                }
                default -> in.skip(tag & 7);
            }
        }
        if (!hasGraph) {
            throw new OnnxFormatException(source + ": not an ONNX model: no graph (ModelProto field 7) found");
        }
        return new OnnxModel(source, irVersion, opsets, nodes, initializers, inputs, outputs);
    }

    private static void parseGraph(ProtoReader in, String source, Path baseDirectory, List<OnnxNode> nodes,
            Map<String, OnnxTensor> initializers, List<String> inputs, List<String> outputs) {
        while (in.hasMore()) {
            int tag = in.readTag();
            switch (tag >>> 3) {
                case 1 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "GraphProto.node");
                    nodes.add(parseNode(in.readMessage(), source, baseDirectory));
                }
                case 5 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "GraphProto.initializer");
                    long offset = in.offset();
                    OnnxTensor tensor = OnnxTensor.parse(in.readMessage(), source, baseDirectory);
                    if (initializers.putIfAbsent(tensor.name(), tensor) != null) {
                        throw new OnnxFormatException(source + ": duplicate initializer '" + tensor.name() + "' at byte " + offset);
                    }
                }
                case 11, 12 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "GraphProto.input/output");
                    ProtoReader valueInfo = in.readMessage();
                    String name = "";
                    while (valueInfo.hasMore()) {
                        int t = valueInfo.readTag();
                        if ((t >>> 3) == 1) {
                            valueInfo.expect(t, ProtoReader.LENGTH_DELIMITED, "ValueInfoProto.name");
                            name = valueInfo.readString();
                        } else {
                            valueInfo.skip(t & 7);
                        }
                    }
                    ((tag >>> 3) == 11 ? inputs : outputs).add(name);
                }
                default -> in.skip(tag & 7);
            }
        }
    }

    private static OnnxNode parseNode(ProtoReader in, String source, Path baseDirectory) {
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        String name = "";
        String opType = "";
        String domain = "";
        Map<String, OnnxAttribute> attributes = new LinkedHashMap<>();
        while (in.hasMore()) {
            int tag = in.readTag();
            int field = tag >>> 3;
            switch (field) {
                case 1, 2, 3, 4, 7 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "NodeProto field " + field);
                    String value = in.readString();
                    switch (field) {
                        case 1 -> inputs.add(value);
                        case 2 -> outputs.add(value);
                        case 3 -> name = value;
                        case 4 -> opType = value;
                        default -> domain = value;
                    }
                }
                case 5 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "NodeProto.attribute");
                    OnnxAttribute attribute = OnnxAttribute.parse(in.readMessage(), source, baseDirectory);
                    attributes.put(attribute.name(), attribute);
                }
                default -> in.skip(tag & 7);
            }
        }
        return new OnnxNode(name, opType, domain, inputs, outputs, attributes);
    }

    /** The file (or other source) this model was read from. */
    public String source() {
        return source;
    }

    public long irVersion() {
        return irVersion;
    }

    /** Operator set versions by domain ({@code ""} is the default ONNX domain). */
    public Map<String, Long> opsets() {
        return opsets;
    }

    /** The main graph's nodes in file (topological) order. */
    public List<OnnxNode> nodes() {
        return nodes;
    }

    /** The main graph's initializers by name, in file order. */
    public Map<String, OnnxTensor> initializers() {
        return initializers;
    }

    public List<String> inputs() {
        return inputs;
    }

    public List<String> outputs() {
        return outputs;
    }
}
