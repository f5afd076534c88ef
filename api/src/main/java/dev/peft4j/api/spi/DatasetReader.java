package dev.peft4j.api.spi;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

/** Reads examples from one source. A bad row is an error naming {@link Source#name()} and the line. */
public interface DatasetReader {
    /** Where data comes from: a file, or a file inside a Maven artifact. */
    interface Source {
        /** For messages: a path, or {@code maven:G:A:V!path}. */
        String name();

        InputStream open() throws IOException;
    }

    /** One example: named fields (strings, numbers, lists of strings) and where it came from ({@code file:line}). */
    record Example(Map<String, Object> fields, String origin) {
        public Example {
            requireNonNull(fields, "fields is null");
            requireNonNull(origin, "origin is null");
            fields = Map.copyOf(fields);
        }
    }

    List<Example> read(Source source) throws IOException;
}
