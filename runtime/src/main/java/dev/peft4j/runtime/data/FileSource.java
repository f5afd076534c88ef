package dev.peft4j.runtime.data;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.spi.DatasetReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** A dataset file on disk. A missing file is a {@link DataException} naming the path. */
public record FileSource(Path path) implements DatasetReader.Source {
    public FileSource {
        requireNonNull(path, "path is null");
    }

    @Override
    public String name() {
        return path.toString();
    }

    @Override
    public InputStream open() throws IOException {
        if (!Files.isRegularFile(path)) {
            throw new DataException("dataset file " + path.toAbsolutePath() + " does not exist or is not a file");
        }
        return Files.newInputStream(path);
    }
}
