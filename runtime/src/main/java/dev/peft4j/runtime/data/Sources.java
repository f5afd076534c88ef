package dev.peft4j.runtime.data;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.spi.DatasetReader;
import java.nio.file.Path;
import java.util.function.Function;

/** Turns a configured location into a {@link DatasetReader.Source}: {@code maven:G:A:V!path}, or a file path. */
public final class Sources {
    private Sources() {}

    public static DatasetReader.Source of(String location, Path baseDirectory, Function<String, Path> artifactLocator) {
        requireNonNull(location, "location is null");
        if (location.startsWith("maven:")) {
            return MavenSource.parse(location, artifactLocator);
        }
        Path p = Path.of(location);
        return new FileSource(p.isAbsolute() || baseDirectory == null ? p : baseDirectory.resolve(p));
    }

    public static DatasetReader.Source of(String location) {
        return of(location, null, MavenSource::localRepositoryJar);
    }
}
