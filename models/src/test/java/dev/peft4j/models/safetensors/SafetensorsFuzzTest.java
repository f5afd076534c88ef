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
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * Property-based fuzzing (jqwik) of the safetensors reader, header and data: a case is a list of one to three
 * corruptions of a real file (bit flips, header and data overwrites, truncation, a wrong header length, JSON
 * field edits: offsets, dtypes, shapes, removed keys, swapped offsets, duplicate names; junk appended; digits
 * changed; bytes inserted or deleted in the header) and a chunk size. Each corruption is a kind (0-9) and a seed
 * for its details, so jqwik shrinks a failure to the fewest, simplest corruptions. The property: the file loads
 * completely (every tensor, as NDArray, raw bytes and floats) or raises a {@link SafetensorsException} naming the
 * file; any other Throwable fails. Tries: 1,000 on the golden file, 100 on stories260K (replacing the hand-rolled
 * loop of 5,000 + 400 seeded cases, which found nothing new in its last runs; about 10 s together).
 */
class SafetensorsFuzzTest {
    private static final String[] DTYPES = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "U64",
        "F8_E4M3", "f32", "", "F32 ", "BOOL\u0000"};

    private static final NDManager MANAGER = NDManager.newBaseManager();

    @AfterContainer
    static void close() {
        MANAGER.close();
    }

    /** One corruption: which kind (the cases of {@link #corrupt}) and the seed of its details. */
    record Corruption(int kind, long seed) {}

    @Provide
    Arbitrary<List<Corruption>> corruptions() {
        return Combinators.combine(Arbitraries.integers().between(0, 9), Arbitraries.longs()).as(Corruption::new).list().ofMinSize(1).ofMaxSize(3);
    }

    @Property(tries = 1000, seed = "20261203")
    void goldenFileLoadsOrIsRejectedNamingTheFile(@ForAll("corruptions") List<Corruption> corruptions, @ForAll boolean defaultChunk,
            @ForAll long chunkSeed) throws IOException {
        Statistics.collect(check(SafetensorsTestFiles.goldenBytes(), corruptions, defaultChunk, chunkSeed));
        Statistics.coverage(c -> {
            c.check("rejected").percentage(p -> p > 30);
            c.check("loaded").percentage(p -> p > 3);
        });
    }

    @Property(tries = 100, seed = "20261203")
    void tinyStoriesFileLoadsOrIsRejectedNamingTheFile(@ForAll("corruptions") List<Corruption> corruptions, @ForAll boolean defaultChunk,
            @ForAll long chunkSeed) throws IOException {
        Path tiny = SafetensorsTestFiles.tinyStories();
        if (tiny == null) {
            return; // peft4j.data not set or tinystories-260k/model.safetensors missing
        }
        Statistics.collect(check(Files.readAllBytes(tiny), corruptions, defaultChunk, chunkSeed));
    }

    private static String check(byte[] original, List<Corruption> corruptions, boolean defaultChunk, long chunkSeed) throws IOException {
        List<String> applied = new ArrayList<>();
        byte[] bytes = original;
        for (Corruption c : corruptions) {
            bytes = corrupt(bytes, original, c.kind(), new Random(c.seed()), applied);
        }
        long chunk = defaultChunk ? SafetensorsFile.DEFAULT_CHUNK_BYTES
                : Math.max(1, original.length / 64) + Math.floorMod(chunkSeed, Math.max(1, original.length / 2));
        Path dir = Files.createTempDirectory("peft4j-fuzz-st");
        Path path = dir.resolve("fuzz.safetensors"); // a new file each case: earlier mappings never see the new bytes
        Files.write(path, bytes);
        String what = corruptions + " (chunk " + chunk + "): " + applied;
        try (NDManager step = MANAGER.newSubManager(); SafetensorsFile f = SafetensorsFile.open(path, chunk)) {
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
            return "loaded";
        } catch (SafetensorsException expected) {
            if (!expected.getMessage().startsWith("safetensors file " + path)) {
                fail(what + ": message does not name the file: " + expected.getMessage(), expected);
            }
            return "rejected";
        } catch (Throwable t) {
            fail(what + ": " + t, t);
            return "failed";
        } finally {
            Files.deleteIfExists(path);
            Files.deleteIfExists(dir);
        }
    }

    private static int headerEnd(byte[] bytes) {
        if (bytes.length < 8) {
            return bytes.length;
        }
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return n < 0 || n > bytes.length - 8 ? bytes.length : (int) (8 + n);
    }

    private static byte[] corrupt(byte[] in, byte[] original, int kind, Random r, List<String> applied) {
        byte[] b = in.clone();
        int headerEnd = headerEnd(b);
        switch (kind) {
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

    /**
     * Edits the header of {@code b}, or of the original file when an earlier corruption left a header this editor cannot
     * walk (a tensor entry that is no longer an object, a missing key): the fuzzer's own JSON handling must not fail a case.
     */
    private static byte[] editJson(byte[] b, byte[] original, Random r, List<String> applied) {
        long seed = r.nextLong();
        try {
            return editJsonOf(b, original, new Random(seed), applied);
        } catch (IllegalStateException | NullPointerException | UnsupportedOperationException | IndexOutOfBoundsException e) {
            applied.add("(editing the original header instead)");
            return editJsonOf(original, original, new Random(seed), applied);
        }
    }

    /** Parses the (valid) header, changes one field, and rewrites header length + header + data. */
    private static byte[] editJsonOf(byte[] b, byte[] original, Random r, List<String> applied) {
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
