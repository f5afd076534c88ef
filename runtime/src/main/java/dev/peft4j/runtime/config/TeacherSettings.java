package dev.peft4j.runtime.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The {@code teacher} section of a distillation run: the frozen model the objectives read.
 *
 * @param run a finished peft4j run directory (its {@code resolved.conf}: base model, method and head;
 *     {@code model/trainable.safetensors}; {@code labels.json}), or empty
 * @param source an HF model directory or {@code maven:GROUP:ARTIFACT:VERSION} without a head (hidden
 *     states; a causal LM's own {@code lm_head} logits), or empty
 * @param cache whether the teacher's logits on the training set are computed once and kept in a file
 * @param cacheFile that file; empty: {@code teacher-logits.safetensors} in the run directory
 * @param cacheTopK per-token logits: how many of the largest the cache keeps per position
 */
public record TeacherSettings(Optional<Path> run, Optional<String> source, boolean cache, Optional<Path> cacheFile, int cacheTopK) {
    /** Problems of {@code teacher.run} as a directory: empty when it holds a finished run. */
    public java.util.List<String> runProblems() {
        if (run.isEmpty()) {
            return java.util.List.of();
        }
        Path dir = run.get();
        if (!Files.isDirectory(dir)) {
            return java.util.List.of("teacher.run is '" + dir + "', which is not a directory; expected a finished peft4j run (the run.dir of a train)");
        }
        java.util.List<String> problems = new java.util.ArrayList<>();
        for (String file : new String[] {"resolved.conf", "model/trainable.safetensors"}) {
            if (!Files.isRegularFile(dir.resolve(file))) {
                problems.add("teacher.run is '" + dir + "', which has no " + file + "; expected a finished peft4j run (the run.dir of a train)");
            }
        }
        return problems;
    }

    public boolean present() {
        return run.isPresent() || source.isPresent();
    }

    /** Where the teacher comes from, as the user wrote it ({@code teacher.run = runs/bge}). */
    public String describe() {
        return run.map(p -> "teacher.run = " + p).orElseGet(() -> source.map(s -> "teacher.source = " + s).orElse("no teacher"));
    }

    public static final SettingsSection<TeacherSettings> SECTION = new SettingsSection<>() {
        @Override
        public String path() {
            return "teacher";
        }

        @Override
        public Class<TeacherSettings> type() {
            return TeacherSettings.class;
        }

        @Override
        public TeacherSettings read(dev.peft4j.api.config.ConfigReader r) {
            Optional<Path> run = RunSettings.path(r, "run");
            Optional<String> source = r.optionalString("source").filter(s -> !s.isBlank());
            if (run.isPresent() && source.isPresent()) {
                r.problem("source", "is '" + source.get() + "' but teacher.run is set too ('" + run.get()
                        + "'); expected one of them (a run brings its own base model)");
            }
            // like model.source and the data paths, the directories are checked when they are loaded (TeacherLoader,
            // still before training), so that a config validates on a machine that does not hold the teacher run yet
            source.ifPresent(s -> {
                int parts = s.split(":", -1).length;
                if (s.startsWith("maven:") && parts != 4 && parts != 5) {
                    r.problem("source", "is '" + s + "', expected an HF model directory or maven:GROUP:ARTIFACT:VERSION[:CLASSIFIER]");
                }
            });
            boolean cache = r.bool("cache");
            Optional<Path> cacheFile = RunSettings.path(r, "cache-file");
            if (cache && run.isEmpty() && source.isEmpty()) {
                r.problem("cache", "is true but there is no teacher; set teacher.run or teacher.source");
            }
            int topK = r.intValue("cache-top-k", 1, 1 << 20);
            return new TeacherSettings(run, source, cache, cacheFile, topK);
        }
    };
}
