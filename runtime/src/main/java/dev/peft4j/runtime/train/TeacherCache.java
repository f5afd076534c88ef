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
 * which part changed. Label-level logits only: per-token logits would need top-k storage, not implemented.
 */
public final class TeacherCache {
    public static final String FILE = "teacher-logits.safetensors";
    static final String TEACHER_KEY = "peft4j.teacher.fingerprint";
    static final String DATA_KEY = "peft4j.data.fingerprint";
    static final String SOURCE_KEY = "peft4j.teacher.source";

    private final float[] logits;
    private final int classes;
    private final int examples;

    private TeacherCache(float[] logits, int examples, int classes) {
        this.logits = logits;
        this.examples = examples;
        this.classes = classes;
    }

    /** Reuses {@code file} when its fingerprints match, else runs the teacher over {@code train} and writes it. */
    public static TeacherCache openOrBuild(Path file, Teacher teacher, TokenizedDataset train, int batchSize, long padId, TensorFiles files,
            PrintStream console) {
        requireNonNull(file, "file is null");
        String teacherPrint = fingerprint(teacher);
        String dataPrint = fingerprint(train);
        if (Files.isRegularFile(file)) {
            Map<String, String> meta = files.metadata(file);
            boolean sameTeacher = teacherPrint.equals(meta.get(TEACHER_KEY));
            boolean sameData = dataPrint.equals(meta.get(DATA_KEY));
            if (sameTeacher && sameData) {
                try (NDManager temp = teacher.backbone().manager().newSubManager()) {
                    NDArray stored = files.read(file, temp).get("logits");
                    Shape s = stored.getShape();
                    if (s.dimension() == 2 && s.get(0) == train.size()) {
                        console.println("teacher cache: reusing " + file + " (" + s.get(0) + " examples x " + s.get(1) + " logits)");
                        return new TeacherCache(stored.toType(DataType.FLOAT32, false).toFloatArray(), (int) s.get(0), (int) s.get(1));
                    }
                }
            }
            console.println("teacher cache: " + file + " is stale and is rebuilt: "
                    + (sameTeacher ? "" : "it was built for teacher " + meta.getOrDefault(SOURCE_KEY, "?") + " (fingerprint "
                            + abbreviate(meta.get(TEACHER_KEY)) + "), this run's is " + teacher.source() + " (" + abbreviate(teacherPrint) + ")"
                            + (sameData ? "" : "; "))
                    + (sameData ? "" : "its training data differ (fingerprint " + abbreviate(meta.get(DATA_KEY)) + ", now "
                            + abbreviate(dataPrint) + ")"));
        }
        TeacherCache cache = compute(teacher, train, batchSize, padId);
        try (NDManager temp = teacher.backbone().manager().newSubManager()) {
            NDArray array = temp.create(cache.logits, new Shape(cache.examples, cache.classes));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put(TEACHER_KEY, teacherPrint);
            meta.put(DATA_KEY, dataPrint);
            meta.put(SOURCE_KEY, teacher.source());
            try {
                Files.createDirectories(file.toAbsolutePath().getParent());
            } catch (java.io.IOException e) {
                throw new Peft4jException("cannot create the directory of teacher cache " + file + ": " + e.getMessage(), e);
            }
            files.write(file, Map.of("logits", array), meta);
        }
        console.println("teacher cache: wrote " + file + " (" + cache.examples + " examples x " + cache.classes + " logits)");
        return cache;
    }

    /** Runs the teacher once over the data, in evaluation batches, row by example index. */
    static TeacherCache compute(Teacher teacher, TokenizedDataset train, int batchSize, long padId) {
        if (!teacher.hasLogits()) {
            throw new Peft4jException("teacher.cache = true stores the teacher's logits, but " + teacher.source() + " has none (no head)");
        }
        float[] logits = null;
        int classes = -1;
        for (Batch batch : new Batcher(train, batchSize, 1, padId).evaluation()) {
            try (NDManager step = teacher.backbone().manager().newSubManager()) {
                ForwardContext context = ForwardContext.inference(step);
                ModelInput input = batch.input(step);
                NDArray out = teacher.outputs(input, false, context).head();
                if (out.getShape().dimension() != 2) {
                    throw new Peft4jException("teacher.cache = true supports label-level logits [batch, classes]; " + teacher.source()
                            + " gives " + out.getShape() + " (per-token logits need top-k storage, which is not implemented): set teacher.cache = false");
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
        return new TeacherCache(logits == null ? new float[0] : logits, train.size(), Math.max(classes, 0));
    }

    /** The cached logits of a batch's examples, {@code [batch, classes]}, in {@code manager}. */
    public NDArray logits(Batch batch, NDManager manager) {
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
