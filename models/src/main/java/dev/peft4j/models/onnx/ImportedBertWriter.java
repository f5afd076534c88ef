package dev.peft4j.models.onnx;

import static java.util.Objects.requireNonNull;

import com.google.gson.GsonBuilder;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.models.onnx.OnnxBertImporter.ImportedBert;
import dev.peft4j.models.onnx.OnnxBertImporter.ImportedTensor;
import dev.peft4j.models.safetensors.SafetensorsDType;
import dev.peft4j.models.safetensors.SafetensorsWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    private static void writeSafetensors(Path file, Map<String, ImportedTensor> tensors, Map<String, String> metadata) {
        List<SafetensorsWriter.RawTensor> raw = new ArrayList<>(tensors.size());
        for (Map.Entry<String, ImportedTensor> e : tensors.entrySet()) {
            float[] values = e.getValue().data();
            ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(values);
            raw.add(new SafetensorsWriter.RawTensor(e.getKey(), SafetensorsDType.F32, e.getValue().shape(), bytes));
        }
        SafetensorsWriter.writeRaw(file, raw, metadata);
    }
}
