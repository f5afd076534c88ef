package dev.peft4j.models.safetensors;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes safetensors files that HuggingFace's {@code safetensors} reads: a JSON header with
 * {@code __metadata__} (always present, with {@code "format": "pt"} unless the caller sets a
 * format), tensors in the given order and contiguous, the header padded with spaces so the data
 * starts 8-byte aligned.
 *
 * <p>Writes are atomic: the bytes go to {@code <file>.tmp-<random>} in the same directory, are
 * fsynced, and the temp file is renamed over {@code file}. On failure the temp file is deleted and
 * a previous {@code file} is left as it was.
 */
public final class SafetensorsWriter {
    private static final SecureRandom RANDOM = new SecureRandom();

    private SafetensorsWriter() {}

    /**
     * One tensor to write. {@code data} holds exactly {@code product(shape) x dtype.byteSize()}
     * bytes from its position to its limit, little-endian; it is read without being modified.
     */
    public record RawTensor(String name, SafetensorsDType dtype, long[] shape, ByteBuffer data) {
        public RawTensor {
            requireNonNull(name, "name is null");
            requireNonNull(dtype, "dtype is null");
            shape = requireNonNull(shape, "shape is null").clone();
            requireNonNull(data, "data is null");
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    /**
     * Writes NDArrays (FLOAT64, FLOAT32, FLOAT16, INT64, INT32, INT16, INT8, UINT8, BOOLEAN) in
     * the map's iteration order. {@code metadata} may be null.
     */
    public static void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
        requireNonNull(file, "file is null");
        requireNonNull(tensors, "tensors is null");
        List<RawTensor> raw = new ArrayList<>(tensors.size());
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            String name = requireNonNull(e.getKey(), "tensor name is null");
            NDArray array = requireNonNull(e.getValue(), "tensor '" + name + "' is null");
            DataType type = array.getDataType();
            SafetensorsDType dtype = SafetensorsDType.fromDataType(type).orElseThrow(() -> new SafetensorsException(file, name,
                    "cannot write DJL type " + type + "; supported: FLOAT64, FLOAT32, FLOAT16, INT64, INT32, INT16, INT8, UINT8, BOOLEAN"));
            // toByteBuffer() is a native-order copy of the (contiguous) values.
            ByteBuffer data = array.toByteBuffer();
            if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
                throw new SafetensorsException(file, name, "writing NDArrays needs a little-endian platform");
            }
            raw.add(new RawTensor(name, dtype, array.getShape().getShape(), data));
        }
        writeRaw(file, raw, metadata);
    }

    /** Writes raw little-endian tensors in list order. {@code metadata} may be null. */
    public static void writeRaw(Path file, List<RawTensor> tensors, Map<String, String> metadata) {
        requireNonNull(file, "file is null");
        requireNonNull(tensors, "tensors is null");
        byte[] header = header(file, tensors, metadata);
        Path dir = file.toAbsolutePath().getParent();
        Path temp = dir.resolve(file.getFileName() + ".tmp-" + Long.toUnsignedString(RANDOM.nextLong(), 36));
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeFully(out, length);
                writeFully(out, ByteBuffer.wrap(header));
                for (RawTensor t : tensors) {
                    writeFully(out, t.data().duplicate());
                }
                out.force(true);
            }
            slowForTests();
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UncheckedIOException | SecurityException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException | SecurityException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new SafetensorsException(file, null, "cannot write: " + e, e);
        }
        syncDirectory(dir);
    }

    /**
     * {@code -Dpeft4j.debug.slow-write-ms=N} holds every write for N ms before its rename, so that a kill-anywhere harness
     * (issue #15) can hit the moment a checkpoint is half written. Off (0) unless set.
     */
    private static final long SLOW_WRITE_MS = Long.getLong("peft4j.debug.slow-write-ms", 0);

    private static void slowForTests() {
        if (SLOW_WRITE_MS > 0) {
            try {
                Thread.sleep(SLOW_WRITE_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    /** Makes the rename durable where the platform allows fsync on a directory (Linux does). */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | SecurityException ignored) {
            // Not supported everywhere (e.g. Windows); the file itself is already fsynced and in place.
        }
    }

    /** The UTF-8 header JSON, space-padded to a multiple of 8 bytes; validates every tensor first. */
    static byte[] header(Path file, List<RawTensor> tensors, Map<String, String> metadata) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        if (metadata != null) {
            metadata.forEach((k, v) -> meta.put(requireNonNull(k, "metadata key is null"),
                    requireNonNull(v, "metadata value of '" + k + "' is null")));
        }
        StringWriter json = new StringWriter();
        Set<String> names = new HashSet<>();
        long offset = 0;
        try (JsonWriter w = new JsonWriter(json)) {
            w.setHtmlSafe(false);
            w.beginObject();
            w.name("__metadata__").beginObject();
            for (Map.Entry<String, String> e : meta.entrySet()) {
                w.name(e.getKey()).value(e.getValue());
            }
            w.endObject();
            for (RawTensor t : tensors) {
                requireNonNull(t, "tensor is null");
                String name = t.name();
                if (name.isEmpty() || name.equals("__metadata__")) {
                    throw new SafetensorsException(file, name, "invalid tensor name");
                }
                if (!names.add(name)) {
                    throw new SafetensorsException(file, name, "duplicate tensor name");
                }
                long count = 1;
                try {
                    for (long d : t.shape()) {
                        if (d < 0) {
                            throw new SafetensorsException(file, name, "negative dimension in shape " + Arrays.toString(t.shape()));
                        }
                        count = Math.multiplyExact(count, d);
                    }
                    count = Math.multiplyExact(count, (long) t.dtype().byteSize());
                } catch (ArithmeticException overflow) {
                    throw new SafetensorsException(file, name, "shape " + Arrays.toString(t.shape()) + " overflows 64 bits");
                }
                if (t.data().remaining() != count) {
                    throw new SafetensorsException(file, name, "shape " + Arrays.toString(t.shape()) + " x " + t.dtype()
                            + " needs " + count + " bytes but the buffer has " + t.data().remaining());
                }
                w.name(name).beginObject();
                w.name("dtype").value(t.dtype().name());
                w.name("shape").beginArray();
                for (long d : t.shape()) {
                    w.value(d);
                }
                w.endArray();
                w.name("data_offsets").beginArray().value(offset).value(offset + count).endArray();
                w.endObject();
                offset += count;
            }
            w.endObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (bytes.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(bytes, padded);
        Arrays.fill(out, bytes.length, padded, (byte) ' ');
        return out;
    }
}
