package dev.peft4j.models.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** A minimal protobuf writer for crafting ONNX test inputs. */
final class ProtoBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    ProtoBytes varint(int field, long value) {
        tag(field, 0);
        rawVarint(value);
        return this;
    }

    ProtoBytes bytes(int field, byte[] value) {
        tag(field, 2);
        rawVarint(value.length);
        out.writeBytes(value);
        return this;
    }

    ProtoBytes string(int field, String value) {
        return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    ProtoBytes message(int field, ProtoBytes message) {
        return bytes(field, message.toByteArray());
    }

    ProtoBytes floats(int field, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return bytes(field, b.array());
    }

    private void tag(int field, int wireType) {
        rawVarint((long) field << 3 | wireType);
    }

    private void rawVarint(long value) {
        while ((value & ~0x7FL) != 0) {
            out.write((int) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        out.write((int) value);
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    /** A float TensorProto: dims, data_type FLOAT, name, raw_data. */
    static ProtoBytes floatTensor(String name, long[] dims, float... values) {
        ProtoBytes t = new ProtoBytes();
        for (long d : dims) {
            t.varint(1, d);
        }
        t.varint(2, OnnxTensor.FLOAT).string(8, name);
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return t.bytes(9, b.array());
    }
}
