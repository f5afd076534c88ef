package dev.peft4j.models.safetensors;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The parsed and validated header of a safetensors file: metadata, entries in data-offset order,
 * where the data section starts and how long it is. The rules are those of
 * {@link SafetensorsFile}'s class comment; every violation is a {@link SafetensorsException}.
 */
record SafetensorsHeader(Map<String, String> metadata, Map<String, TensorEntry> entries, long dataStart, long dataLength) {
    /** HF's {@code MAX_HEADER_SIZE}. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final Pattern NON_NEGATIVE_INTEGER = Pattern.compile("0|[1-9][0-9]*");

    /** Reads and validates the header of {@code file}; the channel stays open. */
    static SafetensorsHeader read(Path file, FileChannel channel) {
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
        return new SafetensorsHeader(Collections.unmodifiableMap(metadata), entries, dataStart, dataLength);
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
            Set<String> seen = new HashSet<>();
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
}
