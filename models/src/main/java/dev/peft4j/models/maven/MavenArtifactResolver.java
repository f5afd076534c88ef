package dev.peft4j.models.maven;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.maven.repository.internal.MavenRepositorySystemUtils;
import org.eclipse.aether.DefaultRepositorySystemSession;
import org.eclipse.aether.RepositorySystem;
import org.eclipse.aether.artifact.Artifact;
import org.eclipse.aether.artifact.DefaultArtifact;
import org.eclipse.aether.repository.LocalRepository;
import org.eclipse.aether.repository.RemoteRepository;
import org.eclipse.aether.resolution.ArtifactRequest;
import org.eclipse.aether.resolution.ArtifactResolutionException;
import org.eclipse.aether.resolution.ArtifactResult;
import org.eclipse.aether.supplier.RepositorySystemSupplier;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

/**
 * Resolves a Maven coordinate to a file with Maven's own resolver library: the local repository first
 * (an artifact already there needs no network), then the remote repositories (Maven Central unless
 * configured otherwise), downloading into the local repository as Maven would.
 *
 * <p>{@link #fromEnvironment()} reads, like Maven: the local repository from {@code -Dmaven.repo.local},
 * else {@code <localRepository>} of {@code ~/.m2/settings.xml}, else {@code ~/.m2/repository}; remote
 * repositories from {@code -Dpeft4j.maven.remote} (comma-separated URLs), else Maven Central; offline mode
 * from {@code -Dpeft4j.maven.offline=true}.
 */
public final class MavenArtifactResolver {
    public static final String CENTRAL_URL = "https://repo.maven.apache.org/maven2/";
    public static final String REMOTE_PROPERTY = "peft4j.maven.remote";
    public static final String OFFLINE_PROPERTY = "peft4j.maven.offline";

    private final Path localRepository;
    private final List<RemoteRepository> remotes;
    private final boolean offline;

    /**
     * @param localRepository the local repository directory ({@code ~/.m2/repository} layout)
     * @param remoteUrls remote repository URLs, tried in order after the local repository
     * @param offline whether to use the local repository only
     */
    public MavenArtifactResolver(Path localRepository, List<String> remoteUrls, boolean offline) {
        this.localRepository = requireNonNull(localRepository, "localRepository is null").toAbsolutePath();
        requireNonNull(remoteUrls, "remoteUrls is null");
        List<RemoteRepository> repositories = new ArrayList<>();
        for (int i = 0; i < remoteUrls.size(); i++) {
            String url = remoteUrls.get(i).strip();
            // "central" keeps the id Maven itself records for Central downloads in the local repository
            String id = url.equals(CENTRAL_URL) || url.equals(CENTRAL_URL.substring(0, CENTRAL_URL.length() - 1))
                    ? "central" : "peft4j-remote-" + i;
            repositories.add(new RemoteRepository.Builder(id, "default", url).build());
        }
        this.remotes = List.copyOf(repositories);
        this.offline = offline;
    }

    /** A resolver configured the way Maven would be on this machine (see the class comment). */
    public static MavenArtifactResolver fromEnvironment() {
        String remote = System.getProperty(REMOTE_PROPERTY, "").strip();
        List<String> urls = remote.isEmpty() ? List.of(CENTRAL_URL) : List.of(remote.split("\\s*,\\s*"));
        return new MavenArtifactResolver(defaultLocalRepository(), urls, Boolean.getBoolean(OFFLINE_PROPERTY));
    }

    /** {@code -Dmaven.repo.local}, else the user settings' {@code <localRepository>}, else {@code ~/.m2/repository}. */
    public static Path defaultLocalRepository() {
        String property = System.getProperty("maven.repo.local", "").strip();
        if (!property.isEmpty()) {
            return Path.of(property);
        }
        Path home = Path.of(System.getProperty("user.home"));
        return settingsLocalRepository(home.resolve(".m2").resolve("settings.xml"))
                .orElse(home.resolve(".m2").resolve("repository"));
    }

    /** The {@code <localRepository>} of a Maven settings file, if the file exists and sets one. */
    static Optional<Path> settingsLocalRepository(Path settings) {
        if (!Files.isRegularFile(settings)) {
            return Optional.empty();
        }
        try (InputStream in = Files.newInputStream(settings)) {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            // settings files never need DTDs or external entities: refuse them (XXE)
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setExpandEntityReferences(false);
            javax.xml.parsers.DocumentBuilder builder = factory.newDocumentBuilder();
            builder.setErrorHandler(null); // errors become the exception below, not stderr noise
            Document document = builder.parse(in);
            NodeList nodes = document.getDocumentElement().getElementsByTagName("localRepository");
            if (nodes.getLength() == 0) {
                return Optional.empty();
            }
            String value = nodes.item(0).getTextContent().strip()
                    .replace("${user.home}", System.getProperty("user.home"));
            return value.isEmpty() ? Optional.empty() : Optional.of(Path.of(value));
        } catch (Exception e) {
            throw new Peft4jException("cannot read Maven settings " + settings + ": " + e.getMessage(), e);
        }
    }

    public Path localRepository() {
        return localRepository;
    }

    /** Resolves {@code G:A:V[:C][@EXT]} (see {@link MavenCoordinate}) to a file in the local repository. */
    public Path resolve(String coordinate) {
        return resolve(MavenCoordinate.parse(coordinate));
    }

    public Path resolve(MavenCoordinate coordinate) {
        requireNonNull(coordinate, "coordinate is null");
        Artifact artifact = new DefaultArtifact(coordinate.resolverForm());
        RepositorySystem system = new RepositorySystemSupplier().get();
        try {
            DefaultRepositorySystemSession session = MavenRepositorySystemUtils.newSession();
            session.setLocalRepositoryManager(system.newLocalRepositoryManager(session, new LocalRepository(localRepository.toFile())));
            session.setOffline(offline);
            // Local first: an artifact already in the local repository is used whichever remote it came
            // from (Maven's enhanced local repository would otherwise insist on the recorded origin).
            Path local = localRepository.resolve(session.getLocalRepositoryManager().getPathForLocalArtifact(artifact));
            if (!artifact.isSnapshot() && Files.isRegularFile(local)) {
                return local;
            }
            if (offline) {
                throw new Peft4jException("cannot resolve Maven artifact " + coordinate + ": not in the local repository "
                        + localRepository + " (looked for " + local + ") and offline mode is on (-D" + OFFLINE_PROPERTY + ")");
            }
            ArtifactResult result = system.resolveArtifact(session, new ArtifactRequest(artifact, remotes, null));
            return result.getArtifact().getFile().toPath();
        } catch (ArtifactResolutionException e) {
            throw new Peft4jException("cannot resolve Maven artifact " + coordinate + ": not in the local repository "
                    + localRepository + " nor in " + describeRemotes() + " (" + rootMessage(e) + ")", e);
        } finally {
            system.shutdown();
        }
    }

    private String describeRemotes() {
        List<String> out = new ArrayList<>();
        for (RemoteRepository r : remotes) {
            out.add(r.getId() + " (" + r.getUrl() + ")");
        }
        return out.isEmpty() ? "any remote repository (none configured)" : "remote repositories " + out;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + "; cause: " + t.getMessage();
    }

    @Override
    public String toString() {
        return "MavenArtifactResolver[local=" + localRepository + ", remotes=" + describeRemotes() + ", offline=" + offline + "]";
    }
}
