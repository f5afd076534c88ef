package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.spi.TensorFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Checkpoints as directories ({@code trainable.safetensors}, {@code optimizer.safetensors},
 * {@code state.json}) written atomically: everything goes into a fresh temporary directory first; only
 * when all of it is written is the old checkpoint renamed aside, the new one renamed into place, and
 * the old one deleted. A failure while writing (disk full) leaves the previous checkpoint as it was and
 * removes the partial directory. If a crash falls between the two renames, {@link #load} finds the
 * aside copy.
 */
public final class Checkpointer {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    /** A loaded checkpoint; its arrays belong to the manager passed to {@link #load}. */
    public record Loaded(Map<String, NDArray> trainable, Map<String, NDArray> optimizer, TrainState state) {}

    private final Path directory;
    private final TensorFiles files;

    public Checkpointer(Path directory, TensorFiles files) {
        this.directory = requireNonNull(directory, "directory is null");
        this.files = requireNonNull(files, "files is null");
    }

    public Path path(String name) {
        return directory.resolve(name);
    }

    public void save(String name, Map<String, NDArray> trainable, Map<String, NDArray> optimizer, TrainState state) {
        save(name, trainable, optimizer, state, Map.of());
    }

    /** As above, with extra text files (file name to content, e.g. the parameter schedule) written into the checkpoint too. */
    public void save(String name, Map<String, NDArray> trainable, Map<String, NDArray> optimizer, TrainState state, Map<String, String> texts) {
        Path target = directory.resolve(name);
        Path temp = directory.resolve("." + name + ".tmp-" + Long.toUnsignedString(System.nanoTime(), 36));
        Path aside = directory.resolve("." + name + ".old");
        try {
            Files.createDirectories(directory);
            removeStaleTemporaries(name);
            Files.createDirectory(temp);
            files.write(temp.resolve("trainable.safetensors"), trainable, Map.of("format", "pt", "peft4j.checkpoint", name));
            if (optimizer != null) {
                files.write(temp.resolve("optimizer.safetensors"), optimizer, Map.of("format", "pt"));
            }
            for (Map.Entry<String, String> text : texts.entrySet()) {
                Files.writeString(temp.resolve(text.getKey()), text.getValue(), StandardCharsets.UTF_8);
            }
            Files.writeString(temp.resolve("state.json"), GSON.toJson(state), StandardCharsets.UTF_8);
            deleteTree(aside);
            if (Files.exists(target)) {
                Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(aside);
        } catch (IOException | RuntimeException e) {
            try {
                deleteTree(temp);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw new Peft4jException("cannot write checkpoint " + target + ": " + e.getMessage()
                    + (Files.exists(target) || Files.exists(aside) ? "; the previous checkpoint is intact" : ""), e);
        }
    }

    public boolean exists(String name) {
        Path dir = directory.resolve(name);
        if (Files.isDirectory(dir) && !Files.isRegularFile(dir.resolve("state.json"))
                && !Files.isRegularFile(directory.resolve("." + name + ".old").resolve("state.json"))) {
            // written atomically, so a checkpoint without its state was damaged afterwards: resuming from step 0 would silently
            // discard the run's history
            throw new Peft4jException("checkpoint " + dir + " has no state.json (it holds " + listing(dir)
                    + "); it is damaged: delete " + dir + " to start the run over, or restore the file");
        }
        return Files.isRegularFile(dir.resolve("state.json")) || Files.isRegularFile(directory.resolve("." + name + ".old").resolve("state.json"));
    }

    private static String listing(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            java.util.List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            return names.isEmpty() ? "nothing" : String.join(", ", names);
        } catch (IOException e) {
            return "unreadable files";
        }
    }

    public Optional<Loaded> load(String name, NDManager manager) {
        Path dir = directory.resolve(name);
        if (!Files.isRegularFile(dir.resolve("state.json"))) {
            dir = directory.resolve("." + name + ".old");
            if (!Files.isRegularFile(dir.resolve("state.json"))) {
                return Optional.empty();
            }
        }
        try {
            Path stateFile = dir.resolve("state.json");
            TrainState state = TrainState.parse(Files.readString(stateFile, StandardCharsets.UTF_8), stateFile.toString());
            Map<String, NDArray> trainable = files.read(dir.resolve("trainable.safetensors"), manager);
            Path opt = dir.resolve("optimizer.safetensors");
            Map<String, NDArray> optimizer = Files.exists(opt) ? files.read(opt, manager) : Map.of();
            return Optional.of(new Loaded(trainable, optimizer, state));
        } catch (Peft4jException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new Peft4jException("cannot read checkpoint " + dir + ": " + e.getMessage(), e);
        }
    }

    /** A text file saved with {@link #save(String, Map, Map, TrainState, Map)}; empty when the checkpoint or the file does not exist. */
    public Optional<String> text(String name, String file) {
        Path dir = directory.resolve(name);
        if (!Files.isRegularFile(dir.resolve("state.json"))) {
            dir = directory.resolve("." + name + ".old");
        }
        Path p = dir.resolve(file);
        try {
            return Files.isRegularFile(p) ? Optional.of(Files.readString(p, StandardCharsets.UTF_8)) : Optional.empty();
        } catch (IOException e) {
            throw new Peft4jException("cannot read " + p + ": " + e.getMessage(), e);
        }
    }

    /** Temporary directories of this checkpoint left by a process killed while writing (one trainer writes a run at a time). */
    private void removeStaleTemporaries(String name) throws IOException {
        try (Stream<Path> s = Files.list(directory)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("." + name + ".tmp-")).toList()) {
                deleteTree(p);
            }
        }
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path x : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
