package dev.peft4j.models.maven;

import dev.peft4j.api.Peft4jException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reading entries out of a downloaded jar without trusting it: every entry name is checked before
 * anything is extracted (no {@code ..} segment, no absolute path, no drive letter, no backslash, no NUL),
 * an extracted file must land inside the target directory, and extraction stops at a size limit
 * whatever the entry claims (zip bombs).
 */
final class SafeJar {
    /** Larger than any protobuf ONNX file can be (2 GB), with room to spare. */
    static final long MAX_ENTRY_BYTES = 4L << 30;

    private SafeJar() {}

    /** The names of all file entries, after checking every entry name (directories included). */
    static List<String> fileEntries(ZipFile zip, Path jar) {
        List<String> names = new ArrayList<>();
        Enumeration<? extends ZipEntry> entries = zip.entries();
        while (entries.hasMoreElements()) {
            ZipEntry entry = entries.nextElement();
            checkName(entry.getName(), jar);
            if (!entry.isDirectory()) {
                names.add(entry.getName());
            }
        }
        return names;
    }

    static void checkName(String name, Path jar) {
        boolean bad = name.isEmpty() || name.startsWith("/") || name.contains("\\") || name.indexOf('\0') >= 0
                || (name.length() > 1 && name.charAt(1) == ':');
        for (String segment : name.split("/", -1)) {
            bad |= segment.equals("..");
        }
        if (bad) {
            throw new Peft4jException(jar + ": refusing archive entry '" + name.replace("\0", "\\0")
                    + "': it would extract outside the target directory (path traversal)");
        }
    }

    /** Extracts one entry to {@code target/<entry name>}; returns the file. */
    static Path extract(ZipFile zip, String name, Path target, Path jar) throws IOException {
        checkName(name, jar);
        Path root = target.toAbsolutePath().normalize();
        Path file = root.resolve(name).normalize();
        if (!file.startsWith(root) || file.equals(root)) {
            throw new Peft4jException(jar + ": refusing archive entry '" + name + "': it resolves outside " + root);
        }
        ZipEntry entry = zip.getEntry(name);
        if (entry == null) {
            throw new Peft4jException(jar + ": no entry '" + name + "'");
        }
        Files.createDirectories(file.getParent());
        try (InputStream in = zip.getInputStream(entry);
                OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buffer = new byte[1 << 16];
            long total = 0;
            int n;
            while ((n = in.read(buffer)) > 0) {
                total += n;
                if (total > MAX_ENTRY_BYTES) {
                    throw new Peft4jException(jar + ": entry '" + name + "' is larger than " + MAX_ENTRY_BYTES + " bytes");
                }
                out.write(buffer, 0, n);
            }
        }
        return file;
    }
}
