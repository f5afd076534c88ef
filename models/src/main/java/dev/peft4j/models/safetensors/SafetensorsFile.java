package dev.peft4j.models.safetensors;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
    static final long MAX_HEADER_BYTES = SafetensorsHeader.MAX_HEADER_BYTES;
    /** Size of one memory-mapped window over the data section. */
    static final long DEFAULT_CHUNK_BYTES = 1L << 30;
    /** The most bytes one Java buffer (and so one DJL tensor) can hold here. */
    static final long MAX_BUFFER_BYTES = Integer.MAX_VALUE - 64;

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
            SafetensorsHeader h = SafetensorsHeader.read(file, channel);
            return new SafetensorsFile(file, channel, h.metadata(), h.entries(), h.dataStart(), h.dataLength(), chunkBytes);
        } catch (RuntimeException | Error e) {
            try {
                channel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
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
            throw new SafetensorsException(path, SafetensorsHeader.clip(name), "no such tensor; the file has " + entries.size()
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
