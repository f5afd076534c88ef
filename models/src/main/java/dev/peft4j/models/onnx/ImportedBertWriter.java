package dev.peft4j.models.onnx;

import static java.util.Objects.requireNonNull;

import com.google.gson.GsonBuilder;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.models.onnx.OnnxBertImporter.ImportedBert;
import dev.peft4j.models.onnx.OnnxBertImporter.ImportedTensor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes an {@link ImportedBert} as the two weight files of a HuggingFace model directory:
 * {@code config.json} and {@code model.safetensors} (F32, {@code __metadata__ {"format": "pt"}} as HF writes it).
 */
public final class ImportedBertWriter {
    private ImportedBertWriter() {}

    public static void write(ImportedBert bert, Path directory) {
        requireNonNull(bert, "bert is null");
        requireNonNull(directory, "directory is null");
        try {
            Files.createDirectories(directory);
            Files.writeString(directory.resolve("config.json"),
                    new GsonBuilder().setPrettyPrinting().create().toJson(bert.config()) + "\n", StandardCharsets.UTF_8);
            writeSafetensors(directory.resolve("model.safetensors"), bert.tensors(), Map.of("format", "pt"));
        } catch (IOException e) {
            throw new Peft4jException("cannot write the imported model to " + directory + ": " + e.getMessage(), e);
        }
    }

    // Stopgap until the safetensors helper's SafetensorsWriter is merged: the same format, F32 only.
    private static void writeSafetensors(Path file, Map<String, ImportedTensor> tensors, Map<String, String> metadata)
            throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", metadata);
        long offset = 0;
        for (Map.Entry<String, ImportedTensor> e : tensors.entrySet()) {
            long bytes = (long) e.getValue().data().length * 4;
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", "F32");
            entry.put("shape", e.getValue().shape());
            entry.put("data_offsets", new long[] {offset, offset + bytes});
            header.put(e.getKey(), entry);
            offset += bytes;
        }
        byte[] json = new GsonBuilder().create().toJson(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(length.array());
            out.write(json);
            for (int i = json.length; i < padded; i++) {
                out.write(' ');
            }
            ByteBuffer chunk = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (ImportedTensor t : tensors.values()) {
                for (float v : t.data()) {
                    if (!chunk.hasRemaining()) {
                        out.write(chunk.array(), 0, chunk.position());
                        chunk.clear();
                    }
                    chunk.putFloat(v);
                }
            }
            out.write(chunk.array(), 0, chunk.position());
        }
    }
}
