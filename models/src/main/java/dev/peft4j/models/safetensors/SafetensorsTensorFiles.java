package dev.peft4j.models.safetensors;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.spi.TensorFiles;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The host's {@link TensorFiles} service: {@link SafetensorsWriter} for writing (atomic, HF
 * readable) and {@link SafetensorsFile} for strict, validated reading.
 *
 * <p>Every file it writes records the SHA-256 of its tensor data in the header's {@code __metadata__}
 * ({@value #CHECKSUM_KEY}; HF's readers ignore it), and every read of a file that has one checks it:
 * a flipped bit in a checkpoint or in a run's trained tensors (an exponent bit turns a weight into
 * 1e30 and still parses) is an error naming the file, not a silently wrong model.
 */
public final class SafetensorsTensorFiles implements TensorFiles {
    /** The metadata key holding the hex SHA-256 of the data section (the tensors' bytes in file order). */
    public static final String CHECKSUM_KEY = "peft4j.sha256";

    @Override
    public void write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata) {
        MessageDigest digest = sha256();
        for (NDArray array : tensors.values()) {
            digest.update(array.toByteBuffer());
        }
        Map<String, String> withChecksum = new LinkedHashMap<>(metadata == null ? Map.of() : metadata);
        withChecksum.put(CHECKSUM_KEY, HexFormat.of().formatHex(digest.digest()));
        SafetensorsWriter.write(file, tensors, withChecksum);
    }

    @Override
    public Map<String, NDArray> read(Path file, NDManager manager) {
        requireNonNull(manager, "manager is null");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            verify(f);
            return f.loadAll(manager);
        }
    }

    @Override
    public Map<String, String> metadata(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            return f.metadata();
        }
    }

    /** Checks the recorded SHA-256, if the file has one (files from elsewhere need not). */
    static void verify(SafetensorsFile f) {
        String recorded = f.metadata().get(CHECKSUM_KEY);
        if (recorded == null) {
            return;
        }
        MessageDigest digest = sha256();
        for (String name : f.names()) {
            ByteBuffer bytes = f.rawBytes(name);
            digest.update(bytes);
        }
        String actual = HexFormat.of().formatHex(digest.digest());
        if (!actual.equals(recorded)) {
            throw new SafetensorsException(f.path(), null, "the tensor data does not match the SHA-256 recorded when it was written (recorded "
                    + recorded + ", now " + actual + "): the file was damaged or changed afterwards; restore it or use another copy");
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }
}
