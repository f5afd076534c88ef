package dev.peft4j.models.safetensors;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Helpers that build raw safetensors bytes by hand, for hostile and fuzz tests. */
final class SafetensorsTestFiles {
    private SafetensorsTestFiles() {}

    /** 8-byte little-endian length + header + data. */
    static byte[] file(String headerJson, byte[] data) {
        byte[] header = headerJson.getBytes(StandardCharsets.UTF_8);
        return file(header.length, header, data);
    }

    static byte[] file(long declaredHeaderLength, byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredHeaderLength).put(header).put(data);
        return b.array();
    }

    static Path write(Path dir, String name, byte[] bytes) {
        try {
            return Files.write(dir.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The golden file written by HF's library (tools/safetensors/make_golden.py). */
    static byte[] goldenBytes() {
        try (InputStream in = SafetensorsTestFiles.class.getResourceAsStream("/safetensors/golden.safetensors")) {
            if (in == null) {
                throw new IllegalStateException("test resource /safetensors/golden.safetensors is missing");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The peft4j.data directory, or null when the property is unset or the directory absent. */
    static Path dataDir() {
        String dir = java.util.Optional.of(System.getProperty("peft4j.data", "")).filter(p -> !p.isBlank()).map(p -> java.nio.file.Path.of(System.getProperty("peft4j.root", "")).resolve(p).normalize().toString()).orElse("");
        if (dir.isBlank()) {
            return null;
        }
        Path p = Paths.get(dir);
        return Files.isDirectory(p) ? p : null;
    }

    static Path tinyStories() {
        Path dir = dataDir();
        if (dir == null) {
            return null;
        }
        Path p = dir.resolve("tinystories-260k/model.safetensors");
        return Files.isRegularFile(p) ? p : null;
    }
}
