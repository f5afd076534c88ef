package dev.peft4j.runtime.plugin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import com.typesafe.config.Config;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.Peft4jPlugin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PluginDiscoveryTest {
    private static final ClassLoader HOST = PluginDiscoveryTest.class.getClassLoader();

    @TempDir
    static Path shared;
    static Path exampleJar;

    @BeforeAll
    static void buildExample() throws Exception {
        exampleJar = JarBuilder.examplePlugin(Files.createDirectories(shared.resolve("build")).resolve("peft4j-plugins-example.jar"));
    }

    private static Path dirWith(Path dir, Path... jars) throws Exception {
        Files.createDirectories(dir);
        for (Path jar : jars) {
            Files.copy(jar, dir.resolve(jar.getFileName()));
        }
        return dir;
    }

    /** A one-class plugin whose body is {@code members} (inside the class). */
    private static Path pluginJar(Path dir, String jarName, String className, String members, String reference) {
        Map<String, String> resources = new HashMap<>(JarBuilder.services("acme." + className));
        if (reference != null) {
            resources.put("reference.conf", reference);
        }
        return JarBuilder.jar(dir.resolve(jarName), Map.of("acme/" + className + ".java", """
                package acme;
                import dev.peft4j.api.spi.*;
                import java.util.List;
                public final class %s implements Peft4jPlugin {
                    %s
                }
                """.formatted(className, members)), resources);
    }

    @Test
    void builtInsComeFromTheApplicationClasspath() {
        PluginRegistry registry = PluginDiscovery.discover(HOST, null);
        LoadedPlugin test = registry.plugins().stream().filter(p -> p.name().equals("peft4j-test")).findFirst().orElseThrow();
        assertThat(test.builtIn()).isTrue();
        assertThat(test.classLoader()).isSameAs(HOST);
        assertThat(test.source()).endsWith("test-classes");
        assertThat(registry.adapterMethod("test-freeze")).isInstanceOf(TestBuiltinPlugin.FreezeFactory.class);
        assertThat(registry.defaults(ComponentKind.ADAPTER_METHOD, "test-freeze").getDouble("scale")).isEqualTo(1.0);
        assertThat(registry.lookup(ComponentKind.DATASET_READER, "test-lines").plugin()).isSameAs(test);
    }

    @Test
    void unknownNamesListTheRegisteredOnesWithASuggestion() {
        PluginRegistry registry = PluginDiscovery.discover(HOST, null);
        assertThatThrownBy(() -> registry.adapterMethod("test-freez")).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("unknown adapter method 'test-freez' (did you mean 'test-freeze'?); registered adapter methods: ")
                .hasMessageContaining("test-freeze");
        assertThatThrownBy(() -> registry.taskHead("nope")).hasMessageStartingWith("unknown task head 'nope'; registered task heads: ");
    }

    @Test
    void aPluginJarLoadsInItsOwnLoaderThatSeesOnlyTheSharedPackages(@TempDir Path tmp) throws Exception {
        PluginRegistry registry = PluginDiscovery.discover(HOST, dirWith(tmp.resolve("plugins"), exampleJar));
        PluginRegistry.Registration<?> method = registry.lookup(ComponentKind.ADAPTER_METHOD, "example-norm-tuning");
        ClassLoader loader = method.factory().getClass().getClassLoader();
        assertThat(loader).isInstanceOf(PluginClassLoader.class).isNotSameAs(HOST);
        assertThat(method.plugin().classLoader()).isSameAs(loader);
        assertThat(method.plugin().builtIn()).isFalse();
        assertThat(method.plugin().source()).isEqualTo(tmp.resolve("plugins").resolve("peft4j-plugins-example.jar").toString());
        assertThat(registry.taskHead("mean-pool-classifier").getClass().getClassLoader()).isSameAs(loader);
        // shared: the very same classes as the host's
        assertThat(loader.loadClass(Peft4jPlugin.class.getName())).isSameAs(Peft4jPlugin.class);
        assertThat(loader.loadClass(NDArray.class.getName())).isSameAs(NDArray.class);
        assertThat(loader.loadClass(Config.class.getName())).isSameAs(Config.class);
        // not shared: the host's own classes and its other libraries are invisible
        assertThatThrownBy(() -> loader.loadClass(PluginRegistry.class.getName())).isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> loader.loadClass("com.google.inject.Injector")).isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> loader.loadClass(Test.class.getName())).isInstanceOf(ClassNotFoundException.class);
        // its reference.conf defaults were read with its own loader
        assertThat(registry.defaults(ComponentKind.ADAPTER_METHOD, "example-norm-tuning").getBoolean("include-bias")).isTrue();
        assertThat(registry.defaults(ComponentKind.TASK_HEAD, "mean-pool-classifier").getInt("num-labels")).isEqualTo(2);
        // and the built-ins are still there
        assertThat(registry.names(ComponentKind.ADAPTER_METHOD)).contains("test-freeze", "example-norm-tuning");
        // the built-in LN tuning and the example's coexist under their own names
        assertThat(registry.names(ComponentKind.ADAPTER_METHOD)).contains("layernorm-tuning", "ia3");
        assertThat(registry.lookup(ComponentKind.ADAPTER_METHOD, "layernorm-tuning").plugin().builtIn()).isTrue();
    }

    @Test
    void aSubdirectoryOfJarsIsOnePlugin(@TempDir Path tmp) throws Exception {
        Path dir = dirWith(tmp.resolve("plugins").resolve("layernorm"), exampleJar);
        PluginRegistry registry = PluginDiscovery.discover(HOST, dir.getParent());
        assertThat(registry.lookup(ComponentKind.TASK_HEAD, "mean-pool-classifier").plugin().source()).isEqualTo(dir.toString());
    }

    @Test
    void aSecondCopyOfTheJarIsADuplicateNamingBothJars(@TempDir Path tmp) throws Exception {
        Path dir = dirWith(tmp.resolve("plugins"), exampleJar);
        Files.copy(exampleJar, dir.resolve("copy-of-example.jar"));
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, dir)).isInstanceOfSatisfying(PluginLoadException.class, e -> {
            assertThat(e.problems()).contains("adapter method 'example-norm-tuning' is registered twice: by plugin 'example-layernorm-tuning' from "
                    + dir.resolve("copy-of-example.jar") + " and by plugin 'example-layernorm-tuning' from "
                    + dir.resolve("peft4j-plugins-example.jar"));
            assertThat(e.problems()).anyMatch(p -> p.startsWith("task head 'mean-pool-classifier' is registered twice"));
        });
    }

    @Test
    void aPluginClashingWithABuiltInNameIsRefused(@TempDir Path tmp) {
        Path jar = pluginJar(tmp, "clash.jar", "Clash", """
                public int spiVersion() { return SpiVersion.CURRENT; }
                public String name() { return "clash"; }
                public List<AdapterMethodFactory<?>> adapterMethods() {
                    return List.of(new AdapterMethodFactory<Object>() {
                        public String name() { return "test-freeze"; }
                        public Object parseConfig(com.typesafe.config.Config c) { return c; }
                        public Adaptation apply(dev.peft4j.api.nn.Module root, Object c, PluginContext ctx) { return null; }
                    });
                }
                """, null);
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, jar.getParent())).isInstanceOf(PluginLoadException.class)
                .hasMessageContaining("adapter method 'test-freeze' is registered twice: by plugin 'peft4j-test' from ")
                .hasMessageContaining("and by plugin 'clash' from " + jar);
    }

    @Test
    void anEmptyJarIsAnError(@TempDir Path tmp) throws Exception {
        Path jar = JarBuilder.jar(tmp.resolve("empty.jar"), Map.of(), Map.of("readme.txt", "nothing here"));
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, tmp)).isInstanceOf(PluginLoadException.class)
                .hasMessage("plugin error: " + jar + ": contains no peft4j plugin (expected a META-INF/services/dev.peft4j.api.spi.Peft4jPlugin"
                        + " entry naming a class that implements dev.peft4j.api.spi.Peft4jPlugin)");
    }

    @Test
    void aMissingPluginClassNamesTheJarAndTheClass(@TempDir Path tmp) throws Exception {
        Path jar = JarBuilder.jar(tmp.resolve("broken.jar"), Map.of(), JarBuilder.services("acme.DoesNotExist"));
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, tmp)).isInstanceOf(PluginLoadException.class)
                .hasMessageContaining(jar + ": cannot load its plugin: ServiceConfigurationError: ")
                .hasMessageContaining("acme.DoesNotExist not found");
    }

    @Test
    void aThrowingConstructorNamesTheJarAndTheCause(@TempDir Path tmp) {
        Path jar = pluginJar(tmp, "throws.jar", "Throws", """
                public Throws() { throw new IllegalStateException("licence file missing"); }
                public int spiVersion() { return SpiVersion.CURRENT; }
                public String name() { return "throws"; }
                """, null);
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, tmp)).isInstanceOf(PluginLoadException.class)
                .hasMessageContaining(jar + ": cannot load its plugin: ServiceConfigurationError: ")
                .hasMessageContaining("(caused by IllegalStateException: licence file missing)");
    }

    @Test
    void aClassMissingAtRunTimeNamesTheJarAndTheClass(@TempDir Path tmp) {
        // compiles against Guice's absence: the factory list refers to a class not in the jar
        Path jar = JarBuilder.jar(tmp.resolve("linkage.jar"), Map.of(
                "acme/Helper.java", "package acme; public final class Helper { public static String name() { return \"x\"; } }",
                "acme/Linkage.java", """
                        package acme;
                        import dev.peft4j.api.spi.*;
                        public final class Linkage implements Peft4jPlugin {
                            public int spiVersion() { return SpiVersion.CURRENT; }
                            public String name() { return Helper.name(); }
                        }
                        """), JarBuilder.services("acme.Linkage"));
        // remove Helper.class from the jar by rebuilding without it
        rewriteWithout(jar, "acme/Helper.class");
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, tmp)).isInstanceOf(PluginLoadException.class)
                .hasMessageContaining(jar + ": plugin acme.Linkage is broken: NoClassDefFoundError: acme/Helper");
    }

    @Test
    void anIncompatibleSpiVersionNamesBothVersions(@TempDir Path tmp) {
        Path jar = pluginJar(tmp, "future.jar", "Future", """
                public int spiVersion() { return 99; }
                public String name() { return "future"; }
                """, null);
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, tmp)).isInstanceOf(PluginLoadException.class)
                .hasMessageContaining(jar + ": plugin acme.Future was built against peft4j SPI version 99, but this peft4j provides SPI version " + dev.peft4j.api.spi.SpiVersion.CURRENT);
    }

    @Test
    void aReferenceConfOutsideThePluginsOwnSectionsIsRefused(@TempDir Path tmp) {
        Path jar = pluginJar(tmp, "greedy.jar", "Greedy", """
                public int spiVersion() { return SpiVersion.CURRENT; }
                public String name() { return "greedy"; }
                """, "train.epochs = 100\n");
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, tmp)).isInstanceOf(PluginLoadException.class)
                .hasMessageContaining(jar + ": reference.conf defines 'train.epochs', but a plugin may only define defaults under");
    }

    @Test
    void allProblemsAreReportedTogether(@TempDir Path tmp) throws Exception {
        JarBuilder.jar(tmp.resolve("a-empty.jar"), Map.of(), Map.of("x.txt", "x"));
        pluginJar(tmp, "b-future.jar", "Future", "public int spiVersion() { return 3; } public String name() { return \"f\"; }", null);
        Files.createDirectories(tmp.resolve("c-dir-without-jars"));
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, tmp)).isInstanceOfSatisfying(PluginLoadException.class,
                e -> assertThat(e.problems()).hasSize(3));
        assertThatThrownBy(() -> PluginDiscovery.discover(HOST, tmp.resolve("missing"))).hasMessageContaining("does not exist");
    }

    @Test
    void theSpiUsedByPluginsIsTheHostsSpi() {
        // an AdapterMethodFactory from a plugin jar is assignable to the host's interface
        assertThat(AdapterMethodFactory.class.getClassLoader()).isSameAs(Peft4jPlugin.class.getClassLoader());
    }

    private static void rewriteWithout(Path jar, String entry) {
        try {
            Path tmp = jar.resolveSibling(jar.getFileName() + ".tmp");
            try (var in = new java.util.jar.JarFile(jar.toFile());
                    var out = new java.util.jar.JarOutputStream(Files.newOutputStream(tmp))) {
                for (var e : java.util.Collections.list(in.entries())) {
                    if (!e.getName().equals(entry)) {
                        out.putNextEntry(new java.util.jar.JarEntry(e.getName()));
                        out.write(in.getInputStream(e).readAllBytes());
                        out.closeEntry();
                    }
                }
            }
            Files.move(tmp, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
