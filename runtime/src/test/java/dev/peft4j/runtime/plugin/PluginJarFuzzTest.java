package dev.peft4j.runtime.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

/**
 * Property-based fuzzing (jqwik) of plugin jars: a {@code META-INF/services} file made of good and bad entries
 * (a class that throws in its static initialiser, one that is no plugin, one without a public no-argument
 * constructor, one whose constructor or {@code name()} throws, one returning null lists, missing classes,
 * malformed names, a host class, comments, BOMs) and an optional {@code reference.conf} (broken HOCON, keys
 * outside the plugin's sections). The property: discovery gives a registry holding the good plugin, or a
 * {@link PluginLoadException} naming the jar; never another exception or error, never more than {@link #BOUND}.
 * 80 tries; the classes are compiled once (javac against peft4j-api only) and re-jarred per try.
 */
class PluginJarFuzzTest {
    static final Duration BOUND = Duration.ofSeconds(20);
    static Map<String, byte[]> classes;

    private static String plugin(String name, String body) {
        return "package fz;\nimport dev.peft4j.api.spi.*;\nimport java.util.*;\npublic final class " + name + " implements Peft4jPlugin {\n"
                + "  public int spiVersion() { return SpiVersion.CURRENT; }\n" + body + "\n}\n";
    }

    @BeforeContainer
    static void compile() throws IOException {
        Map<String, String> sources = new LinkedHashMap<>();
        sources.put("fz/Good.java", plugin("Good", "public String name() { return \"good\"; }"));
        sources.put("fz/ThrowsInInit.java", plugin("ThrowsInInit", "static { if (true) throw new IllegalStateException(\"static init\"); }\n"
                + "public String name() { return \"init\"; }"));
        sources.put("fz/NoDefaultCtor.java", plugin("NoDefaultCtor", "public NoDefaultCtor(int x) {}\npublic String name() { return \"ctor\"; }"));
        sources.put("fz/CtorThrows.java", plugin("CtorThrows", "public CtorThrows() { throw new UnsupportedOperationException(\"ctor\"); }\n"
                + "public String name() { return \"ctor-throws\"; }"));
        sources.put("fz/NameThrows.java", plugin("NameThrows", "public String name() { throw new NullPointerException(\"name\"); }"));
        sources.put("fz/NullLists.java", plugin("NullLists", "public String name() { return \"nulls\"; }\n"
                + "public List<AdapterMethodFactory<?>> adapterMethods() { return null; }"));
        sources.put("fz/StackOverflow.java", plugin("StackOverflow", "public String name() { return name(); }"));
        sources.put("fz/NotAPlugin.java", "package fz;\npublic final class NotAPlugin { }\n");
        Path jar = JarBuilder.jar(Files.createTempFile("peft4j-fuzz-classes", ".jar"), sources, Map.of());
        classes = new LinkedHashMap<>();
        try (JarFile f = new JarFile(jar.toFile())) {
            for (JarEntry e : java.util.Collections.list(f.entries())) {
                if (e.getName().endsWith(".class")) {
                    classes.put(e.getName(), f.getInputStream(e).readAllBytes());
                }
            }
        }
        Files.delete(jar);
    }

    @Provide
    Arbitrary<String> services() {
        Arbitrary<String> line = Arbitraries.of("fz.Good", "fz.ThrowsInInit", "fz.NotAPlugin", "fz.NoDefaultCtor", "fz.CtorThrows", "fz.NameThrows",
                "fz.NullLists", "fz.StackOverflow", "fz.Missing", "# a comment", "", "  fz.Good  ", "1abc", "fz.Good fz.Good", "fz.Good#x",
                "\uFEFFfz.Good", "java.lang.String", "dev.peft4j.runtime.data.DataPlugin", "fz..Good", "\u0000", "fz.Good\r");
        return line.list().ofMaxSize(6).map(l -> String.join("\n", l));
    }

    @Provide
    Arbitrary<String> reference() {
        return Arbitraries.of(null, "", "peft4j.methods.x { r = ", "other.key = 1\n", "peft4j { methods { good-method { r = 1 } } }\n",
                "include required(file(\"/nonexistent\"))\n", "{{{");
    }

    @Property(tries = 80, seed = "20261203")
    void pluginJarsLoadOrAreReportedNamingTheJar(@ForAll("services") String services, @ForAll("reference") String reference,
            @ForAll boolean withServicesFile) throws IOException {
        Path dir = Files.createTempDirectory("peft4j-fuzz-plugins");
        Path jar = dir.resolve("fuzzed-plugin.jar");
        try {
            try (OutputStream os = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(os)) {
                for (Map.Entry<String, byte[]> c : classes.entrySet()) {
                    out.putNextEntry(new JarEntry(c.getKey()));
                    out.write(c.getValue());
                    out.closeEntry();
                }
                if (withServicesFile) {
                    out.putNextEntry(new JarEntry("META-INF/services/dev.peft4j.api.spi.Peft4jPlugin"));
                    out.write(services.getBytes(StandardCharsets.UTF_8));
                    out.closeEntry();
                }
                if (reference != null) {
                    out.putNextEntry(new JarEntry("reference.conf"));
                    out.write(reference.getBytes(StandardCharsets.UTF_8));
                    out.closeEntry();
                }
            }
            String outcome = assertTimeoutPreemptively(BOUND, () -> {
                try {
                    PluginRegistry registry = PluginDiscovery.discover(PluginJarFuzzTest.class.getClassLoader(), dir);
                    assertThat(registry.plugins()).anyMatch(p -> p.source().equals(jar.toString()) && p.plugin().name().equals("good"));
                    registry.plugins().stream().map(LoadedPlugin::classLoader).filter(l -> l instanceof PluginClassLoader)
                            .forEach(l -> closeQuietly((PluginClassLoader) l));
                    return "loaded";
                } catch (PluginLoadException e) {
                    assertThat(e.getMessage()).as("the report names the jar").contains(jar.toString());
                    return "refused";
                }
            }, () -> "discovery took longer than " + BOUND);
            Statistics.collect(outcome);
            Statistics.coverage(c -> {
                c.check("loaded").count(n -> n >= 3);
                c.check("refused").count(n -> n >= 20);
            });
        } finally {
            Files.deleteIfExists(jar);
            Files.deleteIfExists(dir);
        }
    }

    private static void closeQuietly(PluginClassLoader loader) {
        try {
            loader.close();
        } catch (IOException e) {
            // a test's temporary jar
        }
    }

    static List<String> unused() {
        return List.of();
    }
}
