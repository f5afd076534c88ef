package dev.peft4j.runtime.plugin;

import ai.djl.ndarray.NDArray;
import com.typesafe.config.Config;
import dev.peft4j.api.spi.Peft4jPlugin;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.slf4j.Logger;

/**
 * Builds plugin jars in tests the way a third party would: javac against peft4j-api and its three
 * dependencies only (not against runtime), then a jar with the classes and resources. The jar is
 * never on the test classpath.
 */
public final class JarBuilder {
    private JarBuilder() {}

    /** peft4j-api, DJL api, Typesafe Config and SLF4J: what a plugin's provided-scope build sees. */
    public static List<Path> apiClasspath() {
        return Stream.of(Peft4jPlugin.class, NDArray.class, Config.class, Logger.class).map(JarBuilder::location).distinct().toList();
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Compiles in-memory sources (path like {@code com/x/A.java} to code) and writes a jar with the resources. */
    public static Path jar(Path jar, Map<String, String> sources, Map<String, String> resources) {
        try {
            Path work = Files.createTempDirectory("peft4j-jar-src");
            Path src = Files.createDirectories(work.resolve("src"));
            for (Map.Entry<String, String> e : sources.entrySet()) {
                Path f = src.resolve(e.getKey());
                Files.createDirectories(f.getParent());
                Files.writeString(f, e.getValue());
            }
            Path res = work.resolve("res");
            for (Map.Entry<String, String> e : resources.entrySet()) {
                Path f = res.resolve(e.getKey());
                Files.createDirectories(f.getParent());
                Files.writeString(f, e.getValue());
            }
            return jarFromDirectories(jar, src, res);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Compiles every .java under {@code sourceDir} and jars the classes plus everything under {@code resourceDir}. */
    public static Path jarFromDirectories(Path jar, Path sourceDir, Path resourceDir) {
        try {
            Path classes = Files.createTempDirectory("peft4j-jar-classes");
            List<String> files;
            try (Stream<Path> s = Files.walk(sourceDir)) {
                files = s.filter(p -> p.toString().endsWith(".java")).map(Path::toString).sorted().toList();
            }
            if (!files.isEmpty()) {
                JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
                List<String> args = new ArrayList<>(List.of("--release", "17", "-proc:none", "-d", classes.toString(), "-classpath",
                        String.join(java.io.File.pathSeparator, apiClasspath().stream().map(Path::toString).toList())));
                args.addAll(files);
                int rc = javac.run(null, null, null, args.toArray(String[]::new));
                if (rc != 0) {
                    throw new IllegalStateException("javac failed (" + rc + ") for " + files + "; see the test's stderr");
                }
            }
            try (OutputStream os = Files.newOutputStream(jar); JarOutputStream jos = new JarOutputStream(os)) {
                add(jos, classes);
                if (resourceDir != null && Files.isDirectory(resourceDir)) {
                    add(jos, resourceDir);
                }
            }
            return jar;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void add(JarOutputStream jos, Path root) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(root)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        for (Path f : files) {
            jos.putNextEntry(new JarEntry(root.relativize(f).toString().replace('\\', '/')));
            jos.write(Files.readAllBytes(f));
            jos.closeEntry();
        }
    }

    /** A services file body. */
    public static Map<String, String> services(String pluginClass) {
        return Map.of("META-INF/services/" + Peft4jPlugin.class.getName(), pluginClass + "\n");
    }

    /**
     * Builds the {@code plugins-example} module's jar from its sources, against the api only, the way
     * its Maven build does (tests run with the module directory as working directory).
     */
    public static Path examplePlugin(Path jar) {
        Path module = Path.of("..", "plugins-example", "src", "main").toAbsolutePath().normalize();
        if (!Files.isDirectory(module)) {
            throw new IllegalStateException("plugins-example sources not found at " + module);
        }
        return jarFromDirectories(jar, module.resolve("java"), module.resolve("resources"));
    }
}
