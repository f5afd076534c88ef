package dev.peft4j.models.onnx;

import java.util.ArrayList;
import java.util.List;

/**
 * One node attribute ({@code AttributeProto}: name=1, f=2, i=3, s=4, t=5, floats=7, ints=8,
 * type=20). Graph-valued attributes (control flow) are skipped: BERT-family encoders have none.
 *
 * @param tensor the {@code t} value (a {@code Constant} node's tensor), or null
 */
public record OnnxAttribute(String name, int type, float floatValue, long intValue, String stringValue, OnnxTensor tensor,
        List<Float> floats, List<Long> ints) {
    public static final int FLOAT = 1;
    public static final int INT = 2;
    public static final int STRING = 3;
    public static final int TENSOR = 4;
    public static final int FLOATS = 6;
    public static final int INTS = 7;

    public OnnxAttribute {
        floats = List.copyOf(floats);
        ints = List.copyOf(ints);
    }

    static OnnxAttribute parse(ProtoReader in, String source, java.nio.file.Path baseDirectory) {
        String name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        String s = null;
        OnnxTensor t = null;
        List<Float> floats = new ArrayList<>();
        List<Long> ints = new ArrayList<>();
        while (in.hasMore()) {
            int tag = in.readTag();
            switch (tag >>> 3) {
                case 1 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "AttributeProto.name");
                    name = in.readString();
                }
                case 2 -> {
                    in.expect(tag, ProtoReader.FIXED32, "AttributeProto.f");
                    f = Float.intBitsToFloat(in.readFixed32());
                }
                case 3 -> {
                    in.expect(tag, ProtoReader.VARINT, "AttributeProto.i");
                    i = in.readVarint();
                }
                case 4 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "AttributeProto.s");
                    // strings are bytes in ONNX; attributes we read hold ASCII names
                    java.nio.ByteBuffer b = in.readBytes();
                    byte[] bytes = new byte[b.remaining()];
                    b.get(bytes);
                    s = new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
                }
                case 5 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "AttributeProto.t");
                    t = OnnxTensor.parse(in.readMessage(), source, baseDirectory);
                }
                case 7 -> {
                    if ((tag & 7) == ProtoReader.LENGTH_DELIMITED) {
                        java.nio.ByteBuffer b = in.readBytes();
                        if (b.remaining() % 4 != 0) {
                            throw in.error("packed AttributeProto.floats is not a multiple of 4 bytes");
                        }
                        while (b.hasRemaining()) {
                            floats.add(b.getFloat());
                        }
                    } else {
                        in.expect(tag, ProtoReader.FIXED32, "AttributeProto.floats");
                        floats.add(Float.intBitsToFloat(in.readFixed32()));
                    }
                }
                case 8 -> {
                    if ((tag & 7) == ProtoReader.LENGTH_DELIMITED) {
                        ProtoReader packed = in.readMessage();
                        while (packed.hasMore()) {
                            ints.add(packed.readVarint());
                        }
                    } else {
                        in.expect(tag, ProtoReader.VARINT, "AttributeProto.ints");
                        ints.add(in.readVarint());
                    }
                }
                case 20 -> {
                    in.expect(tag, ProtoReader.VARINT, "AttributeProto.type");
                    type = (int) in.readVarint();
                }
                default -> in.skip(tag & 7);
            }
        }
        return new OnnxAttribute(name, type, f, i, s, t, floats, ints);
    }
}
