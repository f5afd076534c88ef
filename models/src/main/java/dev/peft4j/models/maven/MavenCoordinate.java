package dev.peft4j.models.maven;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import java.util.regex.Pattern;

/**
 * A Maven artifact coordinate: {@code GROUP:ARTIFACT:VERSION}, optionally {@code GROUP:ARTIFACT:VERSION:CLASSIFIER},
 * and optionally an {@code @EXTENSION} suffix (default {@code jar}), as Gradle writes them. Every part is
 * restricted to letters, digits, {@code . _ - +} (and may not be {@code .} or {@code ..}), so a coordinate can
 * be used safely as a cache directory path.
 */
public record MavenCoordinate(String groupId, String artifactId, String version, String classifier, String extension) {
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9._+-]+");

    public MavenCoordinate {
        requireNonNull(groupId, "groupId is null");
        requireNonNull(artifactId, "artifactId is null");
        requireNonNull(version, "version is null");
        classifier = classifier == null ? "" : classifier;
        extension = extension == null || extension.isEmpty() ? "jar" : extension;
    }

    /** Parses {@code G:A:V}, {@code G:A:V:C}, each optionally followed by {@code @EXT}. */
    public static MavenCoordinate parse(String coordinate) {
        requireNonNull(coordinate, "coordinate is null");
        String text = coordinate.strip();
        String extension = "jar";
        int at = text.lastIndexOf('@');
        if (at >= 0) {
            extension = text.substring(at + 1);
            text = text.substring(0, at);
        }
        String[] parts = text.split(":", -1);
        if (parts.length < 3 || parts.length > 4) {
            throw invalid(coordinate, "expected GROUP:ARTIFACT:VERSION[:CLASSIFIER][@EXTENSION]");
        }
        for (String part : parts) {
            checkPart(coordinate, part);
        }
        checkPart(coordinate, extension);
        return new MavenCoordinate(parts[0], parts[1], parts[2], parts.length == 4 ? parts[3] : "", extension);
    }

    private static void checkPart(String coordinate, String part) {
        if (!PART.matcher(part).matches() || part.chars().allMatch(c -> c == '.')) {
            throw invalid(coordinate, "part '" + part + "' must be non-empty letters, digits, '.', '_', '-' or '+'");
        }
    }

    private static Peft4jException invalid(String coordinate, String why) {
        return new Peft4jException("invalid Maven coordinate '" + coordinate + "': " + why);
    }

    /** The coordinate in the form Maven's resolver parses: {@code G:A:EXT[:CLASSIFIER]:V}. */
    String resolverForm() {
        return groupId + ":" + artifactId + ":" + extension + (classifier.isEmpty() ? "" : ":" + classifier) + ":" + version;
    }

    @Override
    public String toString() {
        return groupId + ":" + artifactId + ":" + version + (classifier.isEmpty() ? "" : ":" + classifier)
                + ("jar".equals(extension) ? "" : "@" + extension);
    }
}
