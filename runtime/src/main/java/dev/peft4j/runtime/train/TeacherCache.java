package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.Batcher;
import dev.peft4j.runtime.data.EncodedExample;
import dev.peft4j.runtime.data.TokenizedDataset;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The teacher's logits on every training example, computed once ({@code teacher.cache = true}) and kept in
 * a safetensors file ({@code logits}: float32 {@code [examples, classes]}, row = the example's index in the
 * training set) whose metadata carries a fingerprint of the teacher (every parameter's name, shape and
 * bytes) and of the training data (every example's index, token ids and segment ids). A file whose
 * fingerprint differs (another teacher, other data, another max-length) is rebuilt, with a message saying
 * which part changed.
 *
 * <p>Per-token logits (a causal LM teacher for {@code token-kl}) are too large to keep whole
 * ({@code examples x positions x vocabulary}), so the cache keeps the {@code K} largest per position
 * ({@code teacher.cache-top-k}), for each example's own positions only (no padding): {@code top_values} float32 and
 * {@code top_indices} int32, {@code [positions of all examples, K]}, and {@code top_offsets} int32
 * {@code [examples + 1]}, where example {@code i}'s rows are {@code top_offsets[i] .. top_offsets[i + 1]}. (Until
 * 2026-12-06 every example had as many rows as the longest: 1,311 MB for 20,000 SST-2 sentences on stories260K at
 * K = 64, against 345 MB now (674,529 positions, 33.7 per sentence); such a file is rebuilt, saying so.) A batch's
 * teacher logits are rebuilt dense with every other entry at
 * {@link #ABSENT}: its softmax is exactly 0 there, so the KL is the one over the renormalised top K, as
 * sparse-KD recipes define it; with K = the vocabulary it equals the full KL.
 */
public final class TeacherCache {
    public static final String FILE = "teacher-logits.safetensors";
    static final String TEACHER_KEY = "peft4j.teacher.fingerprint";
    static final String DATA_KEY = "peft4j.data.fingerprint";
    static final String SOURCE_KEY = "peft4j.teacher.source";

    static final String VOCAB_KEY = "peft4j.teacher.vocab";
    /** The logit of a vocabulary entry outside a position's top K: exp underflows to exactly 0 at any temperature up to 10^4. */
    static final float ABSENT = -1e9f;

    private final float[] logits;
    private final int classes;
    private final int examples;
    // per-token: logits holds the top-K values [rows, K] (rows: every example's positions), indices their vocabulary ids,
    // offsets[i] .. offsets[i + 1] example i's rows; null for label-level
    private final int[] indices;
    private final int[] offsets;
    private final int vocab;

    private TeacherCache(float[] logits, int examples, int classes) {
        this.logits = logits;
        this.indices = null;
        this.offsets = null;
        this.examples = examples;
        this.classes = classes;
        this.vocab = classes;
    }

    private TeacherCache(float[] values, int[] indices, int[] offsets, int k, int vocab) {
        this.logits = values;
        this.indices = indices;
        this.offsets = offsets;
        this.examples = offsets.length - 1;
        this.classes = k;
        this.vocab = vocab;
    }

    /** Whether this cache holds per-token top-K logits (else label-level logits, whole). */
    public boolean perToken() {
        return indices != null;
    }

    /** As {@link #openOrBuild(Path, Teacher, TokenizedDataset, int, long, int, TensorFiles, PrintStream)} keeping the top 64 per-token logits. */
    public static TeacherCache openOrBuild(Path file, Teacher teacher, TokenizedDataset train, int batchSize, long padId, TensorFiles files,
            PrintStream console) {
        return openOrBuild(file, teacher, train, batchSize, padId, 64, files, console);
    }

    /**
     * Reuses {@code file} when its fingerprints match, else runs the teacher over {@code train} and writes it;
     * per-token logits keep the {@code topK} largest per position (part of the data fingerprint).
     */
    public static TeacherCache openOrBuild(Path file, Teacher teacher, TokenizedDataset train, int batchSize, long padId, int topK,
            TensorFiles files, PrintStream console) {
        requireNonNull(file, "file is null");
        String teacherPrint = fingerprint(teacher);
        String dataPrint = fingerprint(train) + ";top-k=" + topK;
        if (Files.isRegularFile(file)) {
            Map<String, String> meta = files.metadata(file);
            boolean sameTeacher = teacherPrint.equals(meta.get(TEACHER_KEY));
            boolean sameData = dataPrint.equals(meta.get(DATA_KEY));
            if (sameTeacher && sameData) {
                try (NDManager temp = teacher.backbone().manager().newSubManager()) {
                    Map<String, NDArray> stored = files.read(file, temp);
                    NDArray whole = stored.get("logits");
                    NDArray values = stored.get("top_values");
                    NDArray ids = stored.get("top_indices");
                    NDArray offsets = stored.get("top_offsets");
                    if (whole != null && whole.getShape().dimension() == 2 && whole.getShape().get(0) == train.size()) {
                        Shape s = whole.getShape();
                        console.println("teacher cache: reusing " + file + " (" + s.get(0) + " examples x " + s.get(1) + " logits)");
                        return new TeacherCache(whole.toType(DataType.FLOAT32, false).toFloatArray(), (int) s.get(0), (int) s.get(1));
                    }
                    if (values != null && ids != null && offsets != null && values.getShape().dimension() == 2
                            && values.getShape().equals(ids.getShape()) && offsets.getShape().equals(new Shape(train.size() + 1))
                            && meta.containsKey(VOCAB_KEY)) {
                        int[] rows = offsets.toType(DataType.INT32, false).toIntArray();
                        if (rows[0] == 0 && rows[train.size()] == values.getShape().get(0) && ascending(rows)) {
                            Shape s = values.getShape();
                            console.println("teacher cache: reusing " + file + " (" + train.size() + " examples, " + s.get(0) + " positions x top "
                                    + s.get(1) + " logits)");
                            return new TeacherCache(values.toType(DataType.FLOAT32, false).toFloatArray(),
                                    ids.toType(DataType.INT32, false).toIntArray(), rows, (int) s.get(1), Integer.parseInt(meta.get(VOCAB_KEY)));
                        }
                    }
                    String why = values != null && values.getShape().dimension() == 3
                            ? "it keeps every example padded to " + values.getShape().get(1) + " positions (the layout before 2026-12-06)"
                            : "its tensors do not fit its fingerprints (damaged, or written by another version)";
                    console.println("teacher cache: " + file + " is rebuilt: " + why);
                }
            } else {
                console.println("teacher cache: " + file + " is stale and is rebuilt: "
                        + (sameTeacher ? "" : "it was built for teacher " + meta.getOrDefault(SOURCE_KEY, "?") + " (fingerprint "
                                + abbreviate(meta.get(TEACHER_KEY)) + "), this run's is " + teacher.source() + " (" + abbreviate(teacherPrint) + ")"
                                + (sameData ? "" : "; "))
                        + (sameData ? "" : "its training data differ (fingerprint " + abbreviate(meta.get(DATA_KEY)) + ", now "
                                + abbreviate(dataPrint) + ")"));
            }
        }
        return write(file, compute(teacher, train, batchSize, padId, topK), teacherPrint, dataPrint, teacher, files, console);
    }

    private static boolean ascending(int[] offsets) {
        for (int i = 1; i < offsets.length; i++) {
            if (offsets[i] < offsets[i - 1]) {
                return false;
            }
        }
        return true;
    }

    private static TeacherCache write(Path file, TeacherCache cache, String teacherPrint, String dataPrint, Teacher teacher, TensorFiles files,
            PrintStream console) {
        try (NDManager temp = teacher.backbone().manager().newSubManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            Map<String, String> meta = new LinkedHashMap<>();
            if (cache.perToken()) {
                Shape shape = new Shape(cache.offsets[cache.examples], cache.classes);
                tensors.put("top_values", temp.create(cache.logits, shape));
                tensors.put("top_indices", temp.create(cache.indices, shape));
                tensors.put("top_offsets", temp.create(cache.offsets, new Shape(cache.offsets.length)));
                meta.put(VOCAB_KEY, Integer.toString(cache.vocab));
            } else {
                tensors.put("logits", temp.create(cache.logits, new Shape(cache.examples, cache.classes)));
            }
            meta.put("format", "pt");
            meta.put(TEACHER_KEY, teacherPrint);
            meta.put(DATA_KEY, dataPrint);
            meta.put(SOURCE_KEY, teacher.source());
            try {
                Files.createDirectories(file.toAbsolutePath().getParent());
            } catch (java.io.IOException e) {
                throw new Peft4jException("cannot create the directory of teacher cache " + file + ": " + e.getMessage(), e);
            }
            files.write(file, tensors, meta);
        }
        console.println("teacher cache: wrote " + file + " (" + cache.examples + (cache.perToken()
                ? " examples, " + cache.offsets[cache.examples] + " positions x top " + cache.classes + " of " + cache.vocab
                : " examples x " + cache.classes) + " logits)");
        return cache;
    }

    /** Runs the teacher once over the data, in evaluation batches, row by example index (label-level logits). */
    static TeacherCache compute(Teacher teacher, TokenizedDataset train, int batchSize, long padId) {
        return compute(teacher, train, batchSize, padId, 64);
    }

    /** As above; per-token logits keep the {@code topK} largest per position. */
    static TeacherCache compute(Teacher teacher, TokenizedDataset train, int batchSize, long padId, int topK) {
        if (!teacher.hasLogits()) {
            throw new Peft4jException("teacher.cache = true stores the teacher's logits, but " + teacher.source() + " has none (no head)");
        }
        float[] logits = null;
        int classes = -1;
        // per-token rows: example i's positions are rows offsets[i] .. offsets[i + 1] (its own length, no padding)
        int[] offsets = new int[train.size() + 1];
        for (EncodedExample e : train.encoded()) {
            if (e.index() < 0 || e.index() >= train.size()) {
                throw new Peft4jException("teacher cache: example index " + e.index() + " outside 0.." + (train.size() - 1));
            }
            offsets[e.index() + 1] = e.length();
        }
        for (int i = 0; i < train.size(); i++) {
            offsets[i + 1] = Math.addExact(offsets[i + 1], offsets[i]);
        }
        int[] topIndices = null;
        int vocab = -1;
        int k = -1;
        for (Batch batch : new Batcher(train, batchSize, 1, padId).evaluation()) {
            try (NDManager step = teacher.backbone().manager().newSubManager()) {
                ForwardContext context = ForwardContext.inference(step);
                ModelInput input = batch.input(step);
                NDArray out = teacher.outputs(input, false, context).head();
                if (out.getShape().dimension() == 3) {
                    // [batch, seq, vocab]: the top K per position, rows [example index, position]
                    if (logits == null) {
                        vocab = (int) out.getShape().get(2);
                        k = Math.min(topK, vocab);
                        logits = new float[Math.multiplyExact(offsets[train.size()], k)];
                        topIndices = new int[logits.length];
                    }
                    ai.djl.ndarray.NDList top = out.toType(DataType.FLOAT32, false).topK(k, -1, true, true);
                    float[] values = top.get(0).toFloatArray();
                    int[] ids = top.get(1).toType(DataType.INT32, false).toIntArray();
                    int seq = (int) out.getShape().get(1);
                    for (int i = 0; i < batch.size(); i++) {
                        int index = batch.examples().get(i).index();
                        int n = offsets[index + 1] - offsets[index];
                        if (n > seq) {
                            throw new Peft4jException("teacher cache: example " + index + " has " + n + " positions, its batch only " + seq);
                        }
                        System.arraycopy(values, i * seq * k, logits, offsets[index] * k, n * k);
                        System.arraycopy(ids, i * seq * k, topIndices, offsets[index] * k, n * k);
                    }
                    continue;
                }
                if (out.getShape().dimension() != 2) {
                    throw new Peft4jException("teacher.cache = true keeps label-level logits [batch, classes] or per-token logits"
                            + " [batch, seq, vocab]; " + teacher.source() + " gives " + out.getShape() + ": set teacher.cache = false");
                }
                if (logits == null) {
                    classes = (int) out.getShape().get(1);
                    logits = new float[Math.multiplyExact(train.size(), classes)];
                }
                float[] rows = out.toType(DataType.FLOAT32, false).toFloatArray();
                for (int i = 0; i < batch.size(); i++) {
                    System.arraycopy(rows, i * classes, logits, batch.examples().get(i).index() * classes, classes);
                }
            }
        }
        if (topIndices != null) {
            return new TeacherCache(logits, topIndices, offsets, k, vocab);
        }
        return new TeacherCache(logits == null ? new float[0] : logits, train.size(), Math.max(classes, 0));
    }

    /**
     * The cached logits of a batch's examples, {@code [batch, classes]}, in {@code manager}; per-token:
     * {@code [batch, seqLength, vocab]}, the top K of each position in place and {@link #ABSENT} elsewhere
     * (padding positions past an example's length are all {@code ABSENT}: their labels are ignored).
     */
    public NDArray logits(Batch batch, NDManager manager) {
        if (perToken()) {
            int seq = batch.seqLength();
            float[] dense = new float[Math.multiplyExact(Math.multiplyExact(batch.size(), seq), vocab)];
            java.util.Arrays.fill(dense, ABSENT);
            for (int i = 0; i < batch.size(); i++) {
                EncodedExample e = batch.examples().get(i);
                int index = e.index();
                if (index < 0 || index >= examples) {
                    throw new Peft4jException("teacher cache has " + examples + " examples, but the batch holds example index " + index);
                }
                int n = Math.min(Math.min(seq, e.length()), offsets[index + 1] - offsets[index]);
                for (int t = 0; t < n; t++) {
                    int src = (offsets[index] + t) * classes;
                    int dst = (i * seq + t) * vocab;
                    for (int j = 0; j < classes; j++) {
                        dense[dst + indices[src + j]] = logits[src + j];
                    }
                }
            }
            return manager.create(dense, new Shape(batch.size(), seq, vocab));
        }
        float[] rows = new float[batch.size() * classes];
        for (int i = 0; i < batch.size(); i++) {
            int index = batch.examples().get(i).index();
            if (index < 0 || index >= examples) {
                throw new Peft4jException("teacher cache has " + examples + " examples, but the batch holds example index " + index);
            }
            System.arraycopy(logits, index * classes, rows, i * classes, classes);
        }
        return manager.create(rows, new Shape(batch.size(), classes));
    }

    public int examples() {
        return examples;
    }

    /** SHA-256 over the teacher's parameters (names, shapes, values), head included. */
    static String fingerprint(Teacher teacher) {
        MessageDigest digest = sha256();
        Map<String, Parameter> params = new LinkedHashMap<>(teacher.backbone().module().namedParameters());
        teacher.head().ifPresent(h -> h.modules().forEach((name, m) -> m.namedParameters().forEach((k, p) -> params.put(name + "." + k, p))));
        params.forEach((name, p) -> {
            digest.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            digest.update(p.shape().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            digest.update(p.value().toByteBuffer());
        });
        return HexFormat.of().formatHex(digest.digest());
    }

    /** SHA-256 over the training examples in index order: index, token ids, segment ids. */
    static String fingerprint(TokenizedDataset data) {
        MessageDigest digest = sha256();
        for (EncodedExample e : data.encoded()) {
            ByteBuffer b = ByteBuffer.allocate(8 + 8 * e.ids().length * 2).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(e.index()).putInt(e.ids().length);
            for (long id : e.ids()) {
                b.putLong(id);
            }
            if (e.typeIds() != null) {
                for (long t : e.typeIds()) {
                    b.putLong(t);
                }
            }
            b.flip();
            digest.update(b);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String abbreviate(String print) {
        return print == null ? "none" : print.substring(0, Math.min(12, print.length()));
    }
}
