package dev.peft4j.models.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of seeded random corruptions of real files: each must either load completely (every
 * tensor, as NDArray, raw bytes and floats) or raise a SafetensorsException. Any other Throwable
 * fails with the case seed and the corruption applied, so a failure can be replayed.
 */
class SafetensorsFuzzTest {
    private static final String[] DTYPES = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U64",
        "F8_E4M3", "f32", "", "F32 ", "BOOL\u0000"};

    @TempDir
    Path dir;

    @Test
    void goldenFileSurvives5000Corruptions() throws IOException {
        Result r = fuzz(SafetensorsTestFiles.goldenBytes(), 5000, 0x5afe_7e45L);
        // Both outcomes must be common, or the fuzzer is not testing what it claims to.
        assertThat(r.rejected).isGreaterThan(2000);
        assertThat(r.loaded).isGreaterThan(250);
    }

    @Test
    void tinyStoriesFileSurvives400Corruptions() throws IOException {
        Path tiny = SafetensorsTestFiles.tinyStories();
        Assumptions.assumeTrue(tiny != null, "peft4j.data not set or tinystories-260k/model.safetensors missing");
        Result r = fuzz(Files.readAllBytes(tiny), 400, 0x71_2605L);
        assertThat(r.rejected).isGreaterThan(160);
        assertThat(r.loaded).isGreaterThan(20);
    }

    record Result(int loaded, int rejected) {}

    private Result fuzz(byte[] original, int iterations, long seed) throws IOException {
        Random seeds = new Random(seed);
        int loaded = 0;
        int rejected = 0;
        long start = System.nanoTime();
        long cpuStart = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        try (NDManager manager = NDManager.newBaseManager()) {
            for (int i = 0; i < iterations; i++) {
                long caseSeed = seeds.nextLong();
                Random r = new Random(caseSeed);
                List<String> applied = new ArrayList<>();
                byte[] bytes = original;
                int corruptions = 1 + (r.nextInt(4) == 0 ? r.nextInt(3) : 0);
                for (int c = 0; c < corruptions; c++) {
                    bytes = corrupt(bytes, original, r, applied);
                }
                long chunk = r.nextBoolean() ? SafetensorsFile.DEFAULT_CHUNK_BYTES
                        : Math.max(1, original.length / 64) + r.nextInt(Math.max(1, original.length / 2));
                Path path = dir.resolve("fuzz.safetensors");
                Files.deleteIfExists(path); // a new inode: earlier mappings never see the new bytes
                Files.write(path, bytes);
                String what = "seed " + seed + " case " + i + " (case seed " + caseSeed + ", chunk " + chunk + "): " + applied;
                try (NDManager step = manager.newSubManager(); SafetensorsFile f = SafetensorsFile.open(path, chunk)) {
                    for (String name : f.names()) {
                        TensorEntry e = f.entry(name);
                        NDArray a = f.load(name, step);
                        assertThat(a.getShape()).as(what).isEqualTo(e.djlShape());
                        a.close();
                        assertThat((long) f.rawBytes(name).remaining()).as(what).isEqualTo(e.byteLength());
                        if (e.dtype().isFloating()) {
                            assertThat((long) f.readFloats(name).length).as(what).isEqualTo(e.elementCount());
                        }
                    }
                    loaded++;
                } catch (SafetensorsException expected) {
                    if (!expected.getMessage().startsWith("safetensors file " + path)) {
                        fail(what + ": message does not name the file: " + expected.getMessage(), expected);
                    }
                    rejected++;
                } catch (Throwable t) {
                    fail(what + ": " + t, t);
                }
            }
        }
        long cpu = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpuStart;
        System.out.printf("safetensors fuzz: %d cases of a %d-byte file in %.1f s (%.1f s CPU): %d loaded, %d rejected%n",
                iterations, original.length, (System.nanoTime() - start) / 1e9, cpu / 1e9, loaded, rejected);
        return new Result(loaded, rejected);
    }

    private static int headerEnd(byte[] bytes) {
        if (bytes.length < 8) {
            return bytes.length;
        }
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return n < 0 || n > bytes.length - 8 ? bytes.length : (int) (8 + n);
    }

    private static byte[] corrupt(byte[] in, byte[] original, Random r, List<String> applied) {
        byte[] b = in.clone();
        int headerEnd = headerEnd(b);
        switch (r.nextInt(10)) {
            case 0: {
                int pos = r.nextInt(Math.max(1, b.length));
                if (b.length > 0) {
                    int bit = r.nextInt(8);
                    b[pos] ^= (byte) (1 << bit);
                }
                applied.add("flip bit at " + pos);
                return b;
            }
            case 1: {
                int count = 1 + r.nextInt(8);
                for (int k = 0; k < count && headerEnd > 0; k++) {
                    int pos = r.nextInt(headerEnd);
                    b[pos] = (byte) r.nextInt(256);
                }
                applied.add("overwrite " + count + " header bytes");
                return b;
            }
            case 2: {
                if (b.length > headerEnd) {
                    int count = 1 + r.nextInt(16);
                    for (int k = 0; k < count; k++) {
                        b[headerEnd + r.nextInt(b.length - headerEnd)] = (byte) r.nextInt(256);
                    }
                }
                applied.add("overwrite data bytes");
                return b;
            }
            case 3: {
                int cut = r.nextInt(b.length + 1);
                applied.add("truncate to " + cut);
                return Arrays.copyOf(b, cut);
            }
            case 4: {
                if (b.length < 8) {
                    return b;
                }
                long real = headerEnd - 8;
                long n;
                switch (r.nextInt(5)) {
                    case 0: n = r.nextLong(); break;
                    case 1: n = real + r.nextInt(33) - 16; break;
                    case 2: n = r.nextInt(b.length * 2 + 1); break;
                    case 3: n = SafetensorsFile.MAX_HEADER_BYTES + r.nextInt(3) - 1; break;
                    default: n = -1 - r.nextInt(3);
                }
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
                applied.add("header length " + Long.toUnsignedString(n));
                return b;
            }
            case 5: case 6: {
                return editJson(b, original, r, applied);
            }
            case 7: {
                byte[] junk = new byte[1 + r.nextInt(64)];
                r.nextBytes(junk);
                applied.add("append " + junk.length + " bytes");
                byte[] out = Arrays.copyOf(b, b.length + junk.length);
                System.arraycopy(junk, 0, out, b.length, junk.length);
                return out;
            }
            case 8: {
                // Replace one digit of the header text with another: hits offsets and shapes.
                List<Integer> digits = new ArrayList<>();
                for (int k = 8; k < headerEnd; k++) {
                    if (b[k] >= '0' && b[k] <= '9') {
                        digits.add(k);
                    }
                }
                if (!digits.isEmpty()) {
                    int pos = digits.get(r.nextInt(digits.size()));
                    b[pos] = (byte) ('0' + r.nextInt(10));
                    applied.add("digit at " + pos + " -> " + (char) b[pos]);
                }
                return b;
            }
            default: {
                // Insert or delete a few bytes inside the header (shifts everything after).
                if (headerEnd <= 8) {
                    return b;
                }
                int pos = 8 + r.nextInt(headerEnd - 8);
                int n = 1 + r.nextInt(4);
                if (r.nextBoolean()) {
                    byte[] out = new byte[b.length + n];
                    System.arraycopy(b, 0, out, 0, pos);
                    for (int k = 0; k < n; k++) {
                        out[pos + k] = (byte) " {}[],:\"0-.e9a\\".charAt(r.nextInt(15));
                    }
                    System.arraycopy(b, pos, out, pos + n, b.length - pos);
                    applied.add("insert " + n + " bytes at " + pos);
                    return out;
                }
                n = Math.min(n, b.length - pos);
                byte[] out = new byte[b.length - n];
                System.arraycopy(b, 0, out, 0, pos);
                System.arraycopy(b, pos + n, out, pos, b.length - pos - n);
                applied.add("delete " + n + " bytes at " + pos);
                return out;
            }
        }
    }

    /** Parses the (valid) header, changes one field, and rewrites header length + header + data. */
    private static byte[] editJson(byte[] b, byte[] original, Random r, List<String> applied) {
        byte[] base = b;
        JsonObject header;
        try {
            int end = headerEnd(b);
            header = JsonParser.parseString(new String(b, 8, end - 8, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (RuntimeException e) {
            base = original;
            int end = headerEnd(original);
            header = JsonParser.parseString(new String(original, 8, end - 8, StandardCharsets.UTF_8)).getAsJsonObject();
        }
        int dataStart = headerEnd(base);
        List<String> names = new ArrayList<>(header.keySet());
        names.remove("__metadata__");
        String text;
        if (names.isEmpty() || r.nextInt(12) == 0) {
            switch (r.nextInt(3)) {
                case 0: header.add("__metadata__", new JsonArray()); break;
                case 1: {
                    JsonObject meta = new JsonObject();
                    meta.add("k", new JsonPrimitive(r.nextInt()));
                    header.add("__metadata__", meta);
                    break;
                }
                default: header.add("__metadata__", JsonNull.INSTANCE);
            }
            applied.add("json: __metadata__ -> " + header.get("__metadata__"));
            text = header.toString();
        } else {
            String name = names.get(r.nextInt(names.size()));
            JsonObject entry = header.get(name).getAsJsonObject();
            switch (r.nextInt(7)) {
                case 0: {
                    JsonArray offsets = entry.getAsJsonArray("data_offsets");
                    int which = r.nextInt(2);
                    long old = offsets.get(which).getAsLong();
                    long v;
                    switch (r.nextInt(4)) {
                        case 0: v = old + r.nextInt(33) - 16; break;
                        case 1: v = r.nextLong(); break;
                        case 2: v = r.nextInt(base.length + 16); break;
                        default: v = old * 2;
                    }
                    offsets.set(which, new JsonPrimitive(v));
                    if (r.nextInt(4) == 0) {
                        offsets.add(new JsonPrimitive(1));
                    }
                    applied.add("json: " + name + ".data_offsets -> " + offsets);
                    break;
                }
                case 1: {
                    JsonElement dtype = r.nextInt(8) == 0 ? new JsonPrimitive(r.nextInt(10)) : new JsonPrimitive(DTYPES[r.nextInt(DTYPES.length)]);
                    entry.add("dtype", dtype);
                    applied.add("json: " + name + ".dtype -> " + dtype);
                    break;
                }
                case 2: {
                    JsonArray shape = entry.getAsJsonArray("shape");
                    switch (r.nextInt(6)) {
                        case 0: shape.add(new JsonPrimitive(r.nextInt(5))); break;
                        case 1: if (shape.size() > 0) { shape.remove(r.nextInt(shape.size())); } break;
                        case 2: shape.add(new JsonPrimitive(-1 - r.nextInt(4))); break;
                        case 3: shape.add(new JsonPrimitive(1L << (20 + r.nextInt(44)))); break;
                        case 4: shape.add(new JsonPrimitive(r.nextBoolean() ? 1.5 : 2.0)); break;
                        default: shape.add(new JsonPrimitive("2"));
                    }
                    applied.add("json: " + name + ".shape -> " + shape);
                    break;
                }
                case 3: {
                    String key = new String[] {"dtype", "shape", "data_offsets"}[r.nextInt(3)];
                    entry.remove(key);
                    applied.add("json: remove " + name + "." + key);
                    break;
                }
                case 4: {
                    JsonElement replacement = new JsonElement[] {new JsonPrimitive(3), new JsonPrimitive("x"), new JsonArray(),
                        JsonNull.INSTANCE}[r.nextInt(4)];
                    header.add(name, replacement);
                    applied.add("json: " + name + " -> " + replacement);
                    break;
                }
                case 5: {
                    // Swap the offsets of two tensors (same or different sizes).
                    String other = names.get(r.nextInt(names.size()));
                    JsonElement a = entry.get("data_offsets");
                    entry.add("data_offsets", header.get(other).getAsJsonObject().get("data_offsets"));
                    header.get(other).getAsJsonObject().add("data_offsets", a);
                    applied.add("json: swap offsets of " + name + " and " + other);
                    break;
                }
                default: {
                    // Duplicate a tensor name (textually, since a JsonObject cannot hold duplicates).
                    String other = names.get(r.nextInt(names.size()));
                    text = header.toString().replace("\"" + other + "\":", "\"" + name + "\":");
                    applied.add("json: rename " + other + " to " + name);
                    return withHeader(text, base, dataStart, r);
                }
            }
            text = header.toString();
        }
        return withHeader(text, base, dataStart, r);
    }

    private static byte[] withHeader(String text, byte[] base, int dataStart, Random r) {
        byte[] json = text.getBytes(StandardCharsets.UTF_8);
        int pad = r.nextBoolean() ? (8 - json.length % 8) % 8 : 0;
        byte[] header = Arrays.copyOf(json, json.length + pad);
        Arrays.fill(header, json.length, header.length, (byte) ' ');
        byte[] data = Arrays.copyOfRange(base, Math.min(dataStart, base.length), base.length);
        return SafetensorsTestFiles.file(header.length, header, data);
    }
}
