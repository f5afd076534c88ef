package dev.peft4j.cli;

import ai.djl.ndarray.NDArray;
import com.typesafe.config.Config;
import dev.peft4j.api.spi.Peft4jPlugin;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.ToolProvider;
import org.slf4j.Logger;

/**
 * Builds the plugins-example jar from its sources against the api alone, as a user would get it
 * from that module's build (the jar is on no classpath). Runtime's tests do the same (JarBuilder).
 */
final class ExamplePluginJar {
    private ExamplePluginJar() {}

    static Path build(Path jar) throws Exception {
        Path main = Path.of("..", "plugins-example", "src", "main").toAbsolutePath().normalize();
        Path classes = Files.createTempDirectory("peft4j-example-classes");
        List<String> args = new ArrayList<>(List.of("--release", "17", "-proc:none", "-d", classes.toString(), "-classpath",
                String.join(java.io.File.pathSeparator, Stream.of(Peft4jPlugin.class, NDArray.class, Config.class, Logger.class)
                        .map(c -> location(c).toString()).distinct().toList())));
        try (Stream<Path> s = Files.walk(main.resolve("java"))) {
            s.filter(p -> p.toString().endsWith(".java")).sorted().forEach(p -> args.add(p.toString()));
        }
        if (ToolProvider.getSystemJavaCompiler().run(null, null, null, args.toArray(String[]::new)) != 0) {
            throw new IllegalStateException("javac failed for " + main);
        }
        Files.createDirectories(jar.getParent());
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream jos = new JarOutputStream(os)) {
            add(jos, classes);
            add(jos, main.resolve("resources"));
        }
        return jar;
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (Exception e) {
            throw new IllegalStateException(e);
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
}
