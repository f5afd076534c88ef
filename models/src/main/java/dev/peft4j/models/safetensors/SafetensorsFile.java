package dev.peft4j.models.safetensors;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A safetensors file opened for reading: the header is parsed and fully validated by
 * {@link #open}, the data section is memory-mapped lazily in chunks below 2 GB (so files of any
 * size work), and tensors are copied out on request.
 *
 * <p>Validation follows HuggingFace's {@code safetensors} reader: header length at most 100 MB and
 * inside the file; the header a strict UTF-8 JSON object; each entry an object with a known
 * {@code dtype}, a {@code shape} of non-negative integers and two non-negative integer
 * {@code data_offsets}; {@code shape x dtype size == end - begin}; tensors, sorted by offset,
 * contiguous from 0 and covering the data section exactly (no gap, no overlap, no trailing bytes).
 * Unlike HF, a duplicate tensor name is an error. Every problem is a {@link SafetensorsException}
 * naming the file and, where relevant, the tensor.
 *
 * <p>Thread-safe for concurrent reads. {@link #close} closes the channel; the buffers returned by
 * {@link #rawBytes} stay valid until garbage-collected (Java cannot unmap explicitly).
 */
public final class SafetensorsFile implements AutoCloseable {
    /** HF's {@code MAX_HEADER_SIZE}. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** Size of one memory-mapped window over the data section. */
    static final long DEFAULT_CHUNK_BYTES = 1L << 30;
    /** The most bytes one Java buffer (and so one DJL tensor) can hold here. */
    static final long MAX_BUFFER_BYTES = Integer.MAX_VALUE - 64;

    private static final Pattern NON_NEGATIVE_INTEGER = Pattern.compile("0|[1-9][0-9]*");

    private final Path path;
    private final FileChannel channel;
    private final Map<String, String> metadata;
    private final Map<String, TensorEntry> entries;
    private final long dataStart;
    private final long dataLength;
    private final long chunkBytes;
    private final MappedByteBuffer[] chunks;
    private boolean closed;

    private SafetensorsFile(Path path, FileChannel channel, Map<String, String> metadata, Map<String, TensorEntry> entries,
            long dataStart, long dataLength, long chunkBytes) {
        this.path = path;
        this.channel = channel;
        this.metadata = metadata;
        this.entries = entries;
        this.dataStart = dataStart;
        this.dataLength = dataLength;
        this.chunkBytes = chunkBytes;
        long count = (dataLength + chunkBytes - 1) / chunkBytes;
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("chunk size " + chunkBytes + " too small for " + dataLength + " bytes");
        }
        this.chunks = new MappedByteBuffer[(int) count];
    }

    /** Opens and validates {@code file}; see the class comment for what is checked. */
    public static SafetensorsFile open(Path file) {
        return open(file, DEFAULT_CHUNK_BYTES);
    }

    /** As {@link #open(Path)} with a chosen mapping window (tests use tiny ones so tensors straddle windows). */
    static SafetensorsFile open(Path file, long chunkBytes) {
        requireNonNull(file, "file is null");
        if (chunkBytes < 1 || chunkBytes > MAX_BUFFER_BYTES) {
            throw new IllegalArgumentException("chunkBytes must be in [1, " + MAX_BUFFER_BYTES + "], got " + chunkBytes);
        }
        if (Files.isDirectory(file)) {
            throw new SafetensorsException(file, null, "is a directory, expected a .safetensors file");
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(file, null, "file not found");
        } catch (IOException | SecurityException e) {
            throw new SafetensorsException(file, null, "cannot open: " + e, e);
        }
        try {
            return read(file, channel, chunkBytes);
        } catch (RuntimeException | Error e) {
            try {
                channel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static SafetensorsFile read(Path file, FileChannel channel, long chunkBytes) {
        long size;
        ByteBuffer header;
        try {
            size = channel.size();
            if (size < 8) {
                throw new SafetensorsException(file, null,
                        "file is " + size + " bytes, shorter than the 8-byte header length (not a safetensors file or truncated)");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(file, channel, lengthBytes, 0);
            long n = lengthBytes.getLong(0);
            if (n < 0 || n > MAX_HEADER_BYTES) {
                throw new SafetensorsException(file, null, "header length " + Long.toUnsignedString(n)
                        + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes (not a safetensors file or corrupt)");
            }
            if (n > size - 8) {
                throw new SafetensorsException(file, null, "header length " + n + " goes beyond the end of the file ("
                        + size + " bytes; truncated or corrupt)");
            }
            header = ByteBuffer.allocate((int) n);
            readFully(file, channel, header, 8);
            header.flip();
        } catch (IOException e) {
            throw new SafetensorsException(file, null, "cannot read: " + e, e);
        }
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(header)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file, null, "header is not valid UTF-8", e);
        }
        long dataStart = 8L + header.limit();
        long dataLength = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorEntry> parsed = new HeaderParser(file, json).parse(metadata);
        Map<String, TensorEntry> entries = validate(file, parsed, dataLength);
        return new SafetensorsFile(file, channel, Collections.unmodifiableMap(metadata), entries, dataStart, dataLength,
                chunkBytes);
    }

    private static void readFully(Path file, FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, at);
            if (read < 0) {
                throw new SafetensorsException(file, null, "file ended at byte " + at + " while reading the header (truncated?)");
            }
            at += read;
        }
    }

    /** Checks sizes, offsets and contiguity; returns the entries in data-offset order. */
    private static Map<String, TensorEntry> validate(Path file, List<TensorEntry> parsed, long dataLength) {
        List<TensorEntry> sorted = new ArrayList<>(parsed);
        sorted.sort(Comparator.comparingLong(TensorEntry::begin).thenComparingLong(TensorEntry::end));
        Map<String, TensorEntry> out = new LinkedHashMap<>();
        long expectedBegin = 0;
        String previous = null;
        for (TensorEntry e : sorted) {
            long bytes;
            try {
                long count = 1;
                for (long d : e.shape()) {
                    count = Math.multiplyExact(count, d);
                }
                bytes = Math.multiplyExact(count, (long) e.dtype().byteSize());
            } catch (ArithmeticException overflow) {
                throw new SafetensorsException(file, e.name(), "shape " + Arrays.toString(e.shape()) + " x " + e.dtype()
                        + " overflows 64 bits");
            }
            String offsets = "data_offsets [" + e.begin() + ", " + e.end() + "]";
            if (e.begin() > e.end()) {
                throw new SafetensorsException(file, e.name(), offsets + " are reversed: begin > end");
            }
            if (e.end() > dataLength) {
                throw new SafetensorsException(file, e.name(), offsets + " go beyond the data section of " + dataLength
                        + " bytes (truncated or corrupt file)");
            }
            if (e.end() - e.begin() != bytes) {
                throw new SafetensorsException(file, e.name(), "shape " + Arrays.toString(e.shape()) + " x " + e.dtype()
                        + " (" + e.dtype().byteSize() + " bytes each) needs " + bytes + " bytes but " + offsets + " hold "
                        + (e.end() - e.begin()));
            }
            if (e.begin() < expectedBegin) {
                throw new SafetensorsException(file, e.name(), offsets + " overlap tensor '" + previous + "', which ends at "
                        + expectedBegin);
            }
            if (e.begin() > expectedBegin) {
                throw new SafetensorsException(file, e.name(), offsets + " leave a gap: the previous tensor"
                        + (previous == null ? "" : " '" + previous + "'") + " ends at " + expectedBegin
                        + " (tensors must be contiguous)");
            }
            expectedBegin = e.end();
            previous = e.name();
            out.put(e.name(), e);
        }
        if (expectedBegin != dataLength) {
            throw new SafetensorsException(file, null, "the data section is " + dataLength + " bytes but the tensors cover "
                    + expectedBegin + " (trailing bytes after the last tensor)");
        }
        return Collections.unmodifiableMap(out);
    }

    /** Streaming, strict parse of the header JSON, so that duplicate keys and non-integers are caught. */
    private static final class HeaderParser {
        private final Path file;
        private final String json;

        HeaderParser(Path file, String json) {
            this.file = file;
            this.json = json;
        }

        List<TensorEntry> parse(Map<String, String> metadata) {
            List<TensorEntry> out = new ArrayList<>();
            java.util.Set<String> seen = new java.util.HashSet<>();
            try {
                JsonReader r = new JsonReader(new StringReader(json));
                r.setStrictness(Strictness.STRICT);
                if (r.peek() != JsonToken.BEGIN_OBJECT) {
                    throw new SafetensorsException(file, null, "header is not a JSON object but starts with " + r.peek());
                }
                r.beginObject();
                while (r.hasNext()) {
                    String key = r.nextName();
                    if (!seen.add(key)) {
                        throw new SafetensorsException(file, clip(key), "duplicate name in the header");
                    }
                    if (key.equals("__metadata__")) {
                        readMetadata(r, metadata);
                    } else {
                        out.add(readEntry(r, key));
                    }
                }
                r.endObject();
                if (r.peek() != JsonToken.END_DOCUMENT) {
                    throw new SafetensorsException(file, null, "header has content after its JSON object");
                }
                return out;
            } catch (SafetensorsException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                // Gson reports malformed input as MalformedJsonException (an IOException) or
                // IllegalStateException / NumberFormatException for a token of the wrong kind.
                throw new SafetensorsException(file, null, "header is not valid JSON: " + clip(String.valueOf(e.getMessage())), e);
            }
        }

        private void readMetadata(JsonReader r, Map<String, String> metadata) throws IOException {
            if (r.peek() == JsonToken.NULL) {
                r.nextNull();
                return;
            }
            if (r.peek() != JsonToken.BEGIN_OBJECT) {
                throw new SafetensorsException(file, null, "__metadata__ is not a JSON object but " + r.peek());
            }
            r.beginObject();
            while (r.hasNext()) {
                String key = r.nextName();
                if (r.peek() != JsonToken.STRING) {
                    throw new SafetensorsException(file, null, "__metadata__ value of '" + clip(key) + "' is " + r.peek()
                            + ", expected a string");
                }
                if (metadata.put(key, r.nextString()) != null) {
                    throw new SafetensorsException(file, null, "duplicate __metadata__ key '" + clip(key) + "'");
                }
            }
            r.endObject();
        }

        private TensorEntry readEntry(JsonReader r, String name) throws IOException {
            if (r.peek() != JsonToken.BEGIN_OBJECT) {
                throw new SafetensorsException(file, clip(name), "header entry is " + r.peek() + ", expected a JSON object");
            }
            r.beginObject();
            String dtype = null;
            long[] shape = null;
            long[] offsets = null;
            while (r.hasNext()) {
                String key = r.nextName();
                switch (key) {
                    case "dtype":
                        if (dtype != null) {
                            throw new SafetensorsException(file, clip(name), "duplicate key 'dtype'");
                        }
                        if (r.peek() != JsonToken.STRING) {
                            throw new SafetensorsException(file, clip(name), "dtype is " + r.peek() + ", expected a string");
                        }
                        dtype = r.nextString();
                        break;
                    case "shape":
                        if (shape != null) {
                            throw new SafetensorsException(file, clip(name), "duplicate key 'shape'");
                        }
                        shape = readNonNegativeIntegers(r, name, "shape");
                        break;
                    case "data_offsets":
                        if (offsets != null) {
                            throw new SafetensorsException(file, clip(name), "duplicate key 'data_offsets'");
                        }
                        offsets = readNonNegativeIntegers(r, name, "data_offsets");
                        if (offsets.length != 2) {
                            throw new SafetensorsException(file, clip(name), "data_offsets has " + offsets.length
                                    + " values, expected 2 (begin, end)");
                        }
                        break;
                    default:
                        r.skipValue(); // HF ignores unknown keys too
                }
            }
            r.endObject();
            for (String[] required : new String[][] {{"dtype", dtype}, {"shape", shape == null ? null : ""},
                    {"data_offsets", offsets == null ? null : ""}}) {
                if (required[1] == null) {
                    throw new SafetensorsException(file, clip(name), "header entry has no '" + required[0] + "'");
                }
            }
            String dtypeText = dtype;
            SafetensorsDType type = SafetensorsDType.fromHeader(dtypeText).orElseThrow(() -> new SafetensorsException(file,
                    clip(name), "unknown or unsupported dtype '" + clip(dtypeText) + "'; supported: "
                            + Arrays.toString(SafetensorsDType.values())));
            return new TensorEntry(name, type, shape, offsets[0], offsets[1]);
        }

        private long[] readNonNegativeIntegers(JsonReader r, String name, String key) throws IOException {
            if (r.peek() != JsonToken.BEGIN_ARRAY) {
                throw new SafetensorsException(file, clip(name), key + " is " + r.peek() + ", expected an array of integers");
            }
            r.beginArray();
            long[] values = new long[4];
            int n = 0;
            while (r.hasNext()) {
                if (r.peek() != JsonToken.NUMBER) {
                    throw new SafetensorsException(file, clip(name), key + " holds " + r.peek() + ", expected integers");
                }
                String text = r.nextString();
                if (!NON_NEGATIVE_INTEGER.matcher(text).matches()) {
                    throw new SafetensorsException(file, clip(name), key + " holds " + clip(text)
                            + ", expected a non-negative integer");
                }
                long value;
                try {
                    value = Long.parseLong(text);
                } catch (NumberFormatException e) {
                    throw new SafetensorsException(file, clip(name), key + " value " + clip(text) + " is too large");
                }
                if (n == values.length) {
                    values = Arrays.copyOf(values, n * 2);
                }
                values[n++] = value;
            }
            r.endArray();
            return Arrays.copyOf(values, n);
        }
    }

    /** Keeps hostile names and values from producing megabyte-long messages. */
    static String clip(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...(" + s.length() + " chars)";
    }

    // ---- accessors ---------------------------------------------------------------------------

    public Path path() {
        return path;
    }

    /** The {@code __metadata__} map, empty if absent. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in data-offset order. */
    public List<String> names() {
        return List.copyOf(entries.keySet());
    }

    /** The header entry of {@code name}. */
    public TensorEntry entry(String name) {
        requireNonNull(name, "name is null");
        TensorEntry e = entries.get(name);
        if (e == null) {
            throw new SafetensorsException(path, clip(name), "no such tensor; the file has " + entries.size()
                    + " tensors, the closest are " + closest(name));
        }
        return e;
    }

    /** Whether the file holds a tensor called {@code name}. */
    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    private List<String> closest(String name) {
        List<String> names = new ArrayList<>(entries.keySet());
        names.sort(Comparator.comparingInt((String n) -> -commonPrefix(n, name)).thenComparing(n -> n));
        return names.subList(0, Math.min(5, names.size()));
    }

    private static int commonPrefix(String a, String b) {
        int i = 0;
        while (i < a.length() && i < b.length() && a.charAt(i) == b.charAt(i)) {
            i++;
        }
        return i;
    }

    // ---- data --------------------------------------------------------------------------------

    /**
     * The tensor's bytes as a little-endian read-only buffer: a zero-copy slice of the mapping
     * when the tensor lies inside one mapping window, else a heap copy.
     */
    public ByteBuffer rawBytes(String name) {
        TensorEntry e = entry(name);
        long length = e.byteLength();
        checkBufferable(e, length);
        if (length == 0) {
            return ByteBuffer.allocate(0).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
        int index = (int) (e.begin() / chunkBytes);
        long offset = e.begin() - index * chunkBytes;
        if (offset + length <= chunkLength(index)) {
            return chunk(index).slice((int) offset, (int) length).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer copy = ByteBuffer.allocate((int) length);
        copyRange(e, copy);
        copy.flip();
        return copy.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private void checkBufferable(TensorEntry e, long bytes) {
        if (bytes > MAX_BUFFER_BYTES) {
            throw new SafetensorsException(path, e.name(), "tensor needs " + bytes + " bytes, more than one Java buffer holds ("
                    + MAX_BUFFER_BYTES + ")");
        }
    }

    private long chunkLength(int index) {
        return Math.min(chunkBytes, dataLength - index * chunkBytes);
    }

    private synchronized MappedByteBuffer chunk(int index) {
        if (closed) {
            throw new SafetensorsException(path, null, "file is closed");
        }
        MappedByteBuffer chunk = chunks[index];
        if (chunk == null) {
            try {
                chunk = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + index * chunkBytes, chunkLength(index));
            } catch (IOException e) {
                throw new SafetensorsException(path, null, "cannot memory-map bytes at " + (dataStart + index * chunkBytes)
                        + ": " + e, e);
            }
            chunks[index] = chunk;
        }
        return chunk;
    }

    /** Copies the tensor's bytes into {@code destination}, across mapping windows. */
    private void copyRange(TensorEntry e, ByteBuffer destination) {
        long at = e.begin();
        long left = e.byteLength();
        try {
            while (left > 0) {
                int index = (int) (at / chunkBytes);
                int offset = (int) (at - index * chunkBytes);
                int n = (int) Math.min(left, chunkLength(index) - offset);
                destination.put(chunk(index).slice(offset, n));
                at += n;
                left -= n;
            }
        } catch (InternalError fault) {
            // A mapped file truncated by someone else after open() faults on access.
            throw new SafetensorsException(path, e.name(), "file changed while reading: " + fault.getMessage(), fault);
        }
    }

    /**
     * Loads a tensor into torch-owned memory of {@code manager}. BF16 becomes FLOAT32 (converted
     * exactly in Java), I16 becomes INT32, BOOL becomes BOOLEAN; other types keep theirs.
     */
    public NDArray load(String name, NDManager manager) {
        requireNonNull(manager, "manager is null");
        TensorEntry e = entry(name);
        SafetensorsDType type = e.dtype();
        DataType target = type.loadedDataType();
        Shape shape = e.djlShape();
        long count = e.elementCount();
        long outBytes = count * target.getNumOfBytes(); // count * 8 <= 4 * file bytes: no overflow
        checkBufferable(e, outBytes);
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new SafetensorsException(path, name, "loading needs a little-endian platform");
        }
        try {
            if (count == 0) {
                return manager.zeros(shape, target);
            }
            ByteBuffer out = manager.allocateDirect((int) outBytes);
            if (type == SafetensorsDType.BF16 || type == SafetensorsDType.I16 || type == SafetensorsDType.BOOL) {
                ByteBuffer src = rawBytes(name);
                switch (type) {
                    case BF16:
                        // bf16 is the top half of an f32: widening by 16 zero bits is exact.
                        while (src.hasRemaining()) {
                            out.putInt((src.getShort() & 0xffff) << 16);
                        }
                        break;
                    case I16:
                        while (src.hasRemaining()) {
                            out.putInt(src.getShort());
                        }
                        break;
                    default:
                        // torch bools must be 0 or 1; other bytes would be undefined behaviour.
                        while (src.hasRemaining()) {
                            out.put(src.get() != 0 ? (byte) 1 : (byte) 0);
                        }
                }
            } else {
                copyRange(e, out);
            }
            out.rewind();
            NDArray wrapped = manager.create(out, shape, target);
            try {
                return wrapped.duplicate(); // into torch-owned memory; the direct buffer is freed by GC
            } finally {
                wrapped.close();
            }
        } catch (SafetensorsException ex) {
            throw ex;
        } catch (RuntimeException ex) {
            throw new SafetensorsException(path, name, "cannot create a " + target + " tensor of shape " + shape + ": " + ex, ex);
        }
    }

    /** Every tensor, in {@link #names()} order. On failure the tensors loaded so far are closed. */
    public Map<String, NDArray> loadAll(NDManager manager) {
        requireNonNull(manager, "manager is null");
        Map<String, NDArray> out = new LinkedHashMap<>();
        try {
            for (String name : entries.keySet()) {
                out.put(name, load(name, manager));
            }
        } catch (RuntimeException e) {
            out.values().forEach(NDArray::close);
            throw e;
        }
        return out;
    }

    /** A floating-point tensor (F64, F32, F16 or BF16) as floats, flattened in row-major order. */
    public float[] readFloats(String name) {
        TensorEntry e = entry(name);
        if (!e.dtype().isFloating()) {
            throw new SafetensorsException(path, name, "dtype " + e.dtype() + " is not a floating-point type");
        }
        long count = e.elementCount();
        if (count > MAX_BUFFER_BYTES / 4) {
            throw new SafetensorsException(path, name, count + " elements do not fit in one float[]");
        }
        ByteBuffer src = rawBytes(name);
        float[] out = new float[(int) count];
        for (int i = 0; i < out.length; i++) {
            switch (e.dtype()) {
                case F64: out[i] = (float) src.getDouble(); break;
                case F32: out[i] = src.getFloat(); break;
                case F16: out[i] = halfToFloat(src.getShort()); break;
                default: out[i] = Float.intBitsToFloat((src.getShort() & 0xffff) << 16); break;
            }
        }
        return out;
    }

    /** IEEE binary16 to float, exact (Java 17 has no {@code Float.float16ToFloat}). */
    static float halfToFloat(short half) {
        int bits = half & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            float v = mantissa * 0x1p-24f; // subnormal (or zero)
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Arrays.fill(chunks, null);
        try {
            channel.close();
        } catch (IOException e) {
            throw new SafetensorsException(path, null, "cannot close: " + e, e);
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + entries.size() + " tensors]";
    }
}
