package dev.peft4j.models.onnx;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One ONNX {@code TensorProto}: an initializer or a {@code Constant} node's value. The data stays
 * where the file has it (a slice of the memory-mapped file for {@code raw_data}) until one of the
 * {@code to...Array} methods converts it; those check the byte length against the shape.
 *
 * <p>Field numbers (onnx.proto, TensorProto): dims=1, data_type=2, float_data=4, int32_data=5,
 * int64_data=7, name=8, raw_data=9, double_data=10, external_data=13, data_location=14.
 */
public final class OnnxTensor {
    /** TensorProto.DataType values this reader converts. */
    public static final int FLOAT = 1;
    public static final int UINT8 = 2;
    public static final int INT8 = 3;
    public static final int INT32 = 6;
    public static final int INT64 = 7;
    public static final int BOOL = 9;
    public static final int FLOAT16 = 10;
    public static final int DOUBLE = 11;
    public static final int BFLOAT16 = 16;

    private static final int MAX_ELEMENTS = Integer.MAX_VALUE - 16;

    private final String name;
    private final int dataType;
    private final long[] dims;
    private final ByteBuffer raw;
    private final float[] floatData;
    private final long[] intData;
    private final double[] doubleData;
    private final Map<String, String> externalData;
    private final String source;
    private final Path baseDirectory;

    private OnnxTensor(String name, int dataType, long[] dims, ByteBuffer raw, float[] floatData, long[] intData,
            double[] doubleData, Map<String, String> externalData, String source, Path baseDirectory) {
        this.name = name;
        this.dataType = dataType;
        this.dims = dims;
        this.raw = raw;
        this.floatData = floatData;
        this.intData = intData;
        this.doubleData = doubleData;
        this.externalData = externalData;
        this.source = source;
        this.baseDirectory = baseDirectory;
    }

    /** The tensor's name; empty for an unnamed {@code Constant} value. */
    public String name() {
        return name;
    }

    /** The ONNX {@code TensorProto.DataType} number (1 float, 7 int64, ...). */
    public int dataType() {
        return dataType;
    }

    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    public boolean isFloatingPoint() {
        return dataType == FLOAT || dataType == FLOAT16 || dataType == BFLOAT16 || dataType == DOUBLE;
    }

    public boolean isExternal() {
        return !externalData.isEmpty();
    }

    /** Number of elements (product of dims; 1 for a scalar). */
    public long elementCount() {
        long count = 1;
        for (long d : dims) {
            if (d < 0) {
                throw error("negative dimension in shape " + Arrays.toString(dims));
            }
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw error("shape " + Arrays.toString(dims) + " overflows");
            }
        }
        return count;
    }

    /** The values as float32, converting float16, bfloat16 and double. */
    public float[] toFloatArray() {
        int count = checkedCount();
        switch (dataType) {
            case FLOAT -> {
                if (floatData != null) {
                    checkLength(floatData.length, count, "float_data");
                    return floatData.clone();
                }
                ByteBuffer bytes = rawBytes(count, 4);
                float[] out = new float[count];
                bytes.asFloatBuffer().get(out);
                return out;
            }
            case DOUBLE -> {
                if (doubleData != null) {
                    checkLength(doubleData.length, count, "double_data");
                    float[] out = new float[count];
                    for (int i = 0; i < count; i++) {
                        out[i] = (float) doubleData[i];
                    }
                    return out;
                }
                ByteBuffer bytes = rawBytes(count, 8);
                float[] out = new float[count];
                for (int i = 0; i < count; i++) {
                    out[i] = (float) bytes.getDouble();
                }
                return out;
            }
            case FLOAT16, BFLOAT16 -> {
                if (intData != null) {
                    checkLength(intData.length, count, "int32_data");
                    float[] out = new float[count];
                    for (int i = 0; i < count; i++) {
                        out[i] = halfToFloat((short) intData[i], dataType == BFLOAT16);
                    }
                    return out;
                }
                ByteBuffer bytes = rawBytes(count, 2);
                float[] out = new float[count];
                for (int i = 0; i < count; i++) {
                    out[i] = halfToFloat(bytes.getShort(), dataType == BFLOAT16);
                }
                return out;
            }
            default -> throw error("data type " + dataType + " is not a floating-point type");
        }
    }

    /** The values as int64, for integer tensors (int64, int32, int8, uint8, bool). */
    public long[] toLongArray() {
        int count = checkedCount();
        if (intData != null) {
            checkLength(intData.length, count, "integer data");
            return intData.clone();
        }
        int size = switch (dataType) {
            case INT64 -> 8;
            case INT32 -> 4;
            case INT8, UINT8, BOOL -> 1;
            default -> throw error("data type " + dataType + " is not an integer type");
        };
        ByteBuffer b = rawBytes(count, size);
        long[] out = new long[count];
        for (int i = 0; i < count; i++) {
            out[i] = switch (size) {
                case 8 -> b.getLong();
                case 4 -> b.getInt();
                default -> dataType == INT8 ? b.get() : b.get() & 0xFF;
            };
        }
        return out;
    }

    /** A one-element tensor's value as a double, whatever its numeric type. */
    public double scalarValue() {
        if (elementCount() != 1) {
            throw error("expected one element, shape is " + Arrays.toString(dims));
        }
        return isFloatingPoint() ? toFloatArray()[0] : toLongArray()[0];
    }

    private int checkedCount() {
        long count = elementCount();
        if (count > MAX_ELEMENTS) {
            throw error("has " + count + " elements, more than this reader supports");
        }
        return (int) count;
    }

    private void checkLength(int actual, int expected, String field) {
        if (actual != expected) {
            throw error(field + " holds " + actual + " values but shape " + Arrays.toString(dims) + " needs " + expected);
        }
    }

    private ByteBuffer rawBytes(int count, int elementSize) {
        ByteBuffer bytes = raw != null ? raw.duplicate().order(ByteOrder.LITTLE_ENDIAN) : external();
        long expected = (long) count * elementSize;
        if (bytes.remaining() != expected) {
            throw error("raw data is " + bytes.remaining() + " bytes but shape " + Arrays.toString(dims) + " x "
                    + elementSize + " bytes needs " + expected);
        }
        return bytes;
    }

    private ByteBuffer external() {
        if (externalData.isEmpty()) {
            if (elementCount() == 0) {
                return ByteBuffer.allocate(0);
            }
            throw error("has no data (no raw_data, typed data or external_data)");
        }
        String location = externalData.get("location");
        if (location == null || baseDirectory == null) {
            throw error("external data without a location, or the model was not read from a file");
        }
        Path relative = Path.of(location).normalize();
        if (relative.isAbsolute() || relative.startsWith("..") || location.contains("\0")) {
            throw error("external data location '" + location + "' escapes the model directory");
        }
        Path file = baseDirectory.resolve(relative);
        long offset = parseLong(externalData.getOrDefault("offset", "0"), "offset");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long length = externalData.containsKey("length")
                    ? parseLong(externalData.get("length"), "length")
                    : channel.size() - offset;
            if (offset < 0 || length < 0 || offset + length > channel.size() || length > Integer.MAX_VALUE) {
                throw error("external data range offset " + offset + " length " + length + " lies outside " + file
                        + " (" + channel.size() + " bytes)");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, offset, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new OnnxFormatException(source + ": tensor '" + name + "': cannot read external data " + file + ": " + e.getMessage(), e);
        }
    }

    private long parseLong(String value, String key) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw error("external data " + key + " '" + value + "' is not a number");
        }
    }

    private OnnxFormatException error(String message) {
        return new OnnxFormatException(source + ": tensor '" + name + "' (data type " + dataType + "): " + message);
    }

    /** IEEE half (or bfloat16: the top 16 bits of a float32) to float32. */
    static float halfToFloat(short bits, boolean bfloat16) {
        if (bfloat16) {
            return Float.intBitsToFloat((bits & 0xFFFF) << 16);
        }
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // zero or subnormal: mantissa * 2^-24
            float value = mantissa * 0x1p-24f;
            return sign != 0 ? -value : value;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    @Override
    public String toString() {
        return name + Arrays.toString(dims) + " type " + dataType;
    }

    // ---- parsing ----------------------------------------------------------------------------------

    static OnnxTensor parse(ProtoReader in, String source, Path baseDirectory) {
        String name = "";
        int dataType = 0;
        LongList dims = new LongList();
        ByteBuffer raw = null;
        FloatList floats = null;
        LongList ints = null;
        DoubleList doubles = null;
        Map<String, String> external = new LinkedHashMap<>();
        while (in.hasMore()) {
            int tag = in.readTag();
            switch (tag >>> 3) {
                case 1 -> readInts(in, tag, dims, false);
                case 2 -> {
                    in.expect(tag, ProtoReader.VARINT, "TensorProto.data_type");
                    dataType = (int) in.readVarint();
                }
                case 4 -> {
                    floats = floats == null ? new FloatList() : floats;
                    if ((tag & 7) == ProtoReader.LENGTH_DELIMITED) {
                        ByteBuffer b = in.readBytes();
                        if (b.remaining() % 4 != 0) {
                            throw in.error("packed float_data of " + b.remaining() + " bytes is not a multiple of 4");
                        }
                        while (b.hasRemaining()) {
                            floats.add(b.getFloat());
                        }
                    } else {
                        in.expect(tag, ProtoReader.FIXED32, "TensorProto.float_data");
                        floats.add(Float.intBitsToFloat(in.readFixed32()));
                    }
                }
                case 5 -> {
                    ints = ints == null ? new LongList() : ints;
                    readInts(in, tag, ints, true);
                }
                case 7 -> {
                    ints = ints == null ? new LongList() : ints;
                    readInts(in, tag, ints, false);
                }
                case 8 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "TensorProto.name");
                    name = in.readString();
                }
                case 9 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "TensorProto.raw_data");
                    raw = in.readBytes();
                }
                case 10 -> {
                    doubles = doubles == null ? new DoubleList() : doubles;
                    if ((tag & 7) == ProtoReader.LENGTH_DELIMITED) {
                        ByteBuffer b = in.readBytes();
                        if (b.remaining() % 8 != 0) {
                            throw in.error("packed double_data of " + b.remaining() + " bytes is not a multiple of 8");
                        }
                        while (b.hasRemaining()) {
                            doubles.add(b.getDouble());
                        }
                    } else {
                        in.expect(tag, ProtoReader.FIXED64, "TensorProto.double_data");
                        doubles.add(Double.longBitsToDouble(in.readFixed64()));
                    }
                }
                case 13 -> {
                    in.expect(tag, ProtoReader.LENGTH_DELIMITED, "TensorProto.external_data");
                    ProtoReader entry = in.readMessage();
                    String key = null;
                    String value = "";
                    while (entry.hasMore()) {
                        int t = entry.readTag();
                        if ((t >>> 3) == 1 || (t >>> 3) == 2) {
                            entry.expect(t, ProtoReader.LENGTH_DELIMITED, "StringStringEntryProto");
                            String s = entry.readString();
                            if ((t >>> 3) == 1) {
                                key = s;
                            } else {
                                value = s;
                            }
                        } else {
                            entry.skip(t & 7);
                        }
                    }
                    if (key != null) {
                        external.put(key, value);
                    }
                }
                default -> in.skip(tag & 7);
            }
        }
        return new OnnxTensor(name, dataType, dims.toArray(), raw,
                floats == null ? null : floats.toArray(),
                ints == null ? null : ints.toArray(),
                doubles == null ? null : doubles.toArray(),
                Collections.unmodifiableMap(external), requireNonNull(source, "source is null"), baseDirectory);
    }

    /** Reads a repeated varint field, packed or not; int32 values are sign-extended from 32 bits. */
    private static void readInts(ProtoReader in, int tag, LongList out, boolean int32) {
        if ((tag & 7) == ProtoReader.LENGTH_DELIMITED) {
            ProtoReader packed = new ProtoReader(in.readBytes(), "", 0);
            while (packed.hasMore()) {
                long v;
                try {
                    v = packed.readVarint();
                } catch (OnnxFormatException e) {
                    throw in.error("bad packed varint list");
                }
                out.add(int32 ? (int) v : v);
            }
        } else {
            in.expect(tag, ProtoReader.VARINT, "repeated integer field");
            long v = in.readVarint();
            out.add(int32 ? (int) v : v);
        }
    }

    /** Growable primitive lists: typed tensor fields arrive one value (or one packed run) at a time. */
    private static final class LongList {
        private long[] values = new long[8];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }

    private static final class FloatList {
        private float[] values = new float[8];
        private int size;

        void add(float v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        float[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }

    private static final class DoubleList {
        private double[] values = new double[8];
        private int size;

        void add(double v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        double[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
