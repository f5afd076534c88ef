package dev.peft4j.runtime.train;

import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.Peft4j;
import dev.peft4j.runtime.RunResult;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.data.DataException;
import dev.peft4j.runtime.plugin.PluginContexts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** peft4j train end to end through the host (config validation, plugins, LoRA, outputs) on a tiny model. */
class TrainingRunnerTest {
    @TempDir
    Path dir;

    /** Loads a tiny random BERT with the test tokenizer, whatever model.source says. */
    static final dev.peft4j.runtime.data.FakeTokenizer OTHER_TOKENIZER = new dev.peft4j.runtime.data.FakeTokenizer(48);

    static final class TinyLoader implements ModelLoader {
        @Override
        public LoadedModel load(dev.peft4j.runtime.config.ModelSettings settings) {
            // BertModel.close() closes its own sub-manager of the engine's system manager
            // "tiny-other": the same model with another tokenizer (ids hashed into 48, not 64)
            return new LoadedModel(TinySetup.backbone(Engine.getInstance().newBaseManager()),
                    Optional.of(settings.source().equals("tiny-other") ? OTHER_TOKENIZER : TinySetup.TOKENIZER));
        }
    }

    private Path tsv(String name, List<Example> examples) throws Exception {
        List<String> lines = new ArrayList<>();
        lines.add("sentence\tlabel");
        examples.forEach(e -> lines.add(e.fields().get("text") + "\t" + (e.fields().get("label").equals("1") ? "pos" : "neg")));
        Path p = dir.resolve(name);
        Files.write(p, lines, StandardCharsets.UTF_8);
        return p;
    }

    private String experiment(Path train, Path eval) {
        return experiment(train, eval, "method { name = lora, r = 8, alpha = 16, target-modules = all-linear }");
    }

    private String experiment(Path train, Path eval, String method) {
        return "model.source = tiny\n"
                + method + "\n"
                + "head { name = sequence-classification, pooling = mean }\n"
                + "data { train { path = \"" + train + "\", format = tsv }, eval { path = \"" + eval + "\", format = tsv } }\n"
                + "train { epochs = 5, batch-size = 8, learning-rate = 3e-2, log-every = 4, warmup-ratio = 0.1 }\n"
                + "run { name = toy, dir = \"" + dir.resolve("run") + "\" }\n";
    }

    private static Peft4j host() {
        return Peft4j.builder().override(binder -> binder.bind(ModelLoader.class).toInstance(new TinyLoader())).build();
    }

    @Test
    void trainsWithLoraAndWritesEveryOutputThatEvalCanReload() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(96, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(40, 2));
        try (Peft4j peft4j = host()) {
            RunResult result = peft4j.experiment(ConfigFactory.parseString(experiment(train, eval))).run();
            Path run = result.runDirectory();
            // load-best: the final numbers are those of the best evaluation, which beats the majority class (0.575)
            double bestLogged = MetricsLog.read(run.resolve("metrics.jsonl")).stream().filter(o -> o.get("type").getAsString().equals("eval"))
                    .mapToDouble(o -> o.get("accuracy").getAsDouble()).max().orElseThrow();
            assertThat(result.metrics().get("accuracy")).isEqualTo(bestLogged).isGreaterThan(0.575);
            assertThat(result.metrics().get("trainable_parameters")).isLessThan(result.metrics().get("total_parameters") / 2);
            for (String f : List.of("resolved.conf", "metrics.jsonl", "eval.json", "labels.json", "report.html", TrainingRunner.TRAINED_FILE)) {
                assertThat(run.resolve(f)).as(f).exists();
            }
            assertThat(Files.readString(run.resolve("labels.json"))).contains("[\"neg\",\"pos\"]");
            String html = Files.readString(run.resolve("report.html"));
            assertThat(html).contains("<svg").contains("training loss").contains("eval accuracy").contains("name=lora")
                    .contains("trainable");
            TensorFiles files = new SafetensorsTensorFiles();
            try (NDManager m = Engine.getInstance().newBaseManager()) {
                assertThat(files.read(run.resolve(TrainingRunner.TRAINED_FILE), m).keySet())
                        .contains("classifier.weight", "classifier.bias")
                        .anyMatch(k -> k.contains("lora_A")).noneMatch(k -> k.endsWith("query.base_layer.weight"));
            }

            // eval: the same task rebuilt from resolved.conf with the trained tensors gives the same numbers
            ValidatedExperiment again = peft4j.experiment(run.resolve("resolved.conf")).validate();
            try (TaskSetup setup = TrainingRunner.restore(again, new TinyLoader(), new PluginContexts(files), files, run, true)) {
                Evaluation e = Evaluator.evaluate(setup.taskModel(), setup.eval().orElseThrow(), 64, setup.padId());
                assertThat(e.metrics().get("accuracy")).isEqualTo(result.metrics().get("accuracy"));
                assertThat(e.predictions()).hasSize(40);
            }
        }
    }

    @Test
    void aFailedAdapterWriteLeavesNoRunThatLooksFinished() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(24, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(8, 2));
        TensorFiles real = new SafetensorsTensorFiles();
        TensorFiles diskFullAtTheAdapter = new TensorFiles() {
            @Override
            public void write(Path file, java.util.Map<String, ai.djl.ndarray.NDArray> tensors, java.util.Map<String, String> metadata) {
                if (file.getFileName().toString().equals("adapter_model.safetensors")) {
                    throw new dev.peft4j.api.Peft4jException("cannot write " + file + ": No space left on device");
                }
                real.write(file, tensors, metadata);
            }

            @Override
            public java.util.Map<String, ai.djl.ndarray.NDArray> read(Path file, NDManager manager) {
                return real.read(file, manager);
            }

            @Override
            public java.util.Map<String, String> metadata(Path file) {
                return real.metadata(file);
            }
        };
        try (Peft4j peft4j = Peft4j.builder().override(binder -> {
            binder.bind(ModelLoader.class).toInstance(new TinyLoader());
            binder.bind(TensorFiles.class).toInstance(diskFullAtTheAdapter);
        }).build()) {
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment(train, eval)), "train.epochs = 1").run())
                    .hasMessageContaining("No space left on device");
            Path run = dir.resolve("run");
            assertThat(run.resolve(TrainingRunner.TRAINED_FILE)).doesNotExist();
            assertThat(run.resolve("adapter")).doesNotExist();
            assertThat(run.resolve(".adapter.tmp")).doesNotExist();
            ValidatedExperiment again = peft4j.experiment(run.resolve("resolved.conf")).validate();
            assertThatThrownBy(() -> TrainingRunner.restore(again, new TinyLoader(), new PluginContexts(real), real, run, true))
                    .hasMessageContaining("is not a finished run");
        }
    }

    @Test
    void aLabelOutsideTheConfiguredVocabularyNamesFileAndLine() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(20, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(10, 2));
        try (Peft4j peft4j = host()) {
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment(train, eval)), "data.labels=[neg, neutral]").run())
                    .isInstanceOf(DataException.class).hasMessageContaining(train + ":").hasMessageContaining("label 'pos' is not in");
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment(dir.resolve("missing.tsv"), eval))).run())
                    .hasMessageContaining("missing.tsv does not exist");
        }
    }

    @Test
    void aConfiguredObjectiveThatCannotRunStopsTheRunBeforeTraining() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(16, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(8, 2));
        try (Peft4j peft4j = host()) {
            String config = experiment(train, eval) + "objectives = [ { name = soft-target-kl, temperature = 2 } ]\n";
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(config)).run())
                    .hasMessageContaining("objectives[0] (soft-target-kl) needs a teacher");
            assertThat(dir.resolve("run").resolve("metrics.jsonl")).doesNotExist();
        }
    }

    /** A teacher run, then students with and without KD from it: the objective runs, and the run reports the teacher beside the student. */
    @Test
    void distillsFromAFinishedRunAndReportsTheTeacherBesideTheStudent() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(96, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(40, 2));
        try (Peft4j peft4j = host()) {
            Path teacherRun = peft4j.experiment(ConfigFactory.parseString(experiment(train, eval))).run().runDirectory();
            String student = experiment(train, eval).replace("epochs = 5", "epochs = 2")
                    + "teacher.run = \"" + teacherRun + "\"\n";
            RunResult plain = peft4j.experiment(ConfigFactory.parseString(student), "run.dir=" + dir.resolve("plain")).run();
            RunResult kd = peft4j.experiment(ConfigFactory.parseString(student + "objectives = [ { name = soft-target-kl, temperature = 2, alpha = 1 } ]\n"),
                    "run.dir=" + dir.resolve("kd")).run();
            for (RunResult r : List.of(plain, kd)) {
                assertThat(r.metrics()).containsKeys("teacher_accuracy", "kl_to_teacher", "accuracy");
            }
            // the same teacher evaluated on the same data both times
            assertThat(kd.metrics().get("teacher_accuracy")).isEqualTo(plain.metrics().get("teacher_accuracy"));
            // the objective ran: the logged training loss is no longer the task loss of the same run without it
            double plainLoss = MetricsLog.read(plain.runDirectory().resolve("metrics.jsonl")).stream().filter(o -> o.get("type").getAsString().equals("train"))
                    .findFirst().orElseThrow().get("loss").getAsDouble();
            double kdLoss = MetricsLog.read(kd.runDirectory().resolve("metrics.jsonl")).stream().filter(o -> o.get("type").getAsString().equals("train"))
                    .findFirst().orElseThrow().get("loss").getAsDouble();
            assertThat(kdLoss).isNotCloseTo(plainLoss, org.assertj.core.api.Assertions.within(1e-4));
            // teacher.cache: the same training from the teacher's logits computed once and read by example index
            RunResult cached = peft4j.experiment(ConfigFactory.parseString(student + "objectives = [ { name = soft-target-kl, temperature = 2, alpha = 1 } ]\n"
                    + "teacher.cache = true\n"), "run.dir=" + dir.resolve("cached")).run();
            assertThat(dir.resolve("cached").resolve(TeacherCache.FILE)).exists();
            assertThat(cached.metrics().get("kl_to_teacher")).isCloseTo(kd.metrics().get("kl_to_teacher"), org.assertj.core.api.Assertions.within(1e-3));
            System.out.printf("tiny KD: kl_to_teacher plain %.5f kd %.5f, accuracy plain %.4f kd %.4f teacher %.4f%n", plain.metrics().get("kl_to_teacher"),
                    kd.metrics().get("kl_to_teacher"), plain.metrics().get("accuracy"), kd.metrics().get("accuracy"), kd.metrics().get("teacher_accuracy"));
        }
    }

    /**
     * Hidden-state matching with a prompt-learning student: prompt tuning puts virtual tokens before the
     * text, so the student's hidden states are longer than the teacher's; only the text positions are
     * compared (prefix tuning keeps the length). Both train, and the objective changes the loss.
     */
    @Test
    void hiddenStateMatchingWorksWithPrefixAndPromptTuningStudents() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(48, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(16, 2));
        try (Peft4j peft4j = host()) {
            Path teacherRun = peft4j.experiment(ConfigFactory.parseString(experiment(train, eval).replace("epochs = 5", "epochs = 1")),
                    "run.dir=" + dir.resolve("teacher")).run().runDirectory();
            for (String method : List.of("method { name = prefix-tuning, num-virtual-tokens = 3 }", "method { name = prompt-tuning, num-virtual-tokens = 3 }")) {
                String student = experiment(train, eval, method).replace("epochs = 5", "epochs = 1") + "teacher.run = \"" + teacherRun + "\"\n";
                String name = method.contains("prefix") ? "prefix" : "prompt";
                RunResult plain = peft4j.experiment(ConfigFactory.parseString(student), "run.dir=" + dir.resolve(name + "-plain")).run();
                RunResult kd = peft4j.experiment(ConfigFactory.parseString(student
                        + "objectives = [ { name = hidden-state, student-layers = [0, 1], teacher-layers = [0, 1], weight = 1 } ]\n"),
                        "run.dir=" + dir.resolve(name + "-kd")).run();
                double plainLoss = firstTrainLoss(plain);
                double kdLoss = firstTrainLoss(kd);
                assertThat(kdLoss).as(name).isGreaterThan(plainLoss + 1e-4);
                assertThat(kd.metrics()).containsKeys("accuracy", "kl_to_teacher");
            }
        }
    }

    private static double firstTrainLoss(RunResult r) throws Exception {
        return MetricsLog.read(r.runDirectory().resolve("metrics.jsonl")).stream().filter(o -> o.get("type").getAsString().equals("train"))
                .findFirst().orElseThrow().get("loss").getAsDouble();
    }

    /**
     * A teacher with another tokenizer: a sequence-level task re-tokenises the texts per model, so the
     * teacher reads its own ids (its accuracy beside the student's is the one its own run measured), with
     * and without the cache; token-by-token objectives are refused, naming the objective.
     */
    @Test
    void aTeacherWithAnotherTokenizerReadsTheTextsAsItsOwnTokenizerEncodesThem() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(96, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(40, 2));
        try (Peft4j peft4j = host()) {
            RunResult teacherRun = peft4j.experiment(ConfigFactory.parseString(experiment(train, eval)), "model.source = tiny-other",
                    "run.dir=" + dir.resolve("teacher")).run();
            assertThat(TinySetup.TOKENIZER.encode("the movie was great", 64).ids())
                    .isNotEqualTo(OTHER_TOKENIZER.encode("the movie was great", 64).ids());
            String student = experiment(train, eval).replace("epochs = 5", "epochs = 2") + "teacher.run = \"" + dir.resolve("teacher") + "\"\n";
            RunResult plain = peft4j.experiment(ConfigFactory.parseString(student), "run.dir=" + dir.resolve("plain")).run();
            String kd = student + "objectives = [ { name = soft-target-kl, temperature = 2, alpha = 1 } ]\n";
            RunResult distilled = peft4j.experiment(ConfigFactory.parseString(kd), "run.dir=" + dir.resolve("kd")).run();
            RunResult cached = peft4j.experiment(ConfigFactory.parseString(kd + "teacher.cache = true\n"), "run.dir=" + dir.resolve("cached")).run();
            // the teacher is scored on its own token ids: the accuracy its own run reported
            for (RunResult r : List.of(plain, distilled, cached)) {
                assertThat(r.metrics().get("teacher_accuracy")).isEqualTo(teacherRun.metrics().get("accuracy"));
            }
            assertThat(distilled.metrics().get("kl_to_teacher")).isLessThan(plain.metrics().get("kl_to_teacher"));
            assertThat(cached.metrics().get("kl_to_teacher")).isCloseTo(distilled.metrics().get("kl_to_teacher"), org.assertj.core.api.Assertions.within(1e-3));
            System.out.printf("re-tokenised KD: teacher %.4f; kl plain %.5f kd %.5f cached %.5f%n", teacherRun.metrics().get("accuracy"),
                    plain.metrics().get("kl_to_teacher"), distilled.metrics().get("kl_to_teacher"), cached.metrics().get("kl_to_teacher"));
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(student
                    + "objectives = [ { name = hidden-state, student-layers = [1], teacher-layers = [1] } ]\n"), "run.dir=" + dir.resolve("hs")).run())
                    .hasMessageContaining("objectives[0] (hidden-state) compares the models token by token")
                    .hasMessageContaining("tokenises differently from model.source = tiny");
        }
    }

    @Test
    void aTeacherWithAnotherLabelOrderIsRefusedBeforeTraining() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(32, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(8, 2));
        try (Peft4j peft4j = host()) {
            Path teacherRun = peft4j.experiment(ConfigFactory.parseString(experiment(train, eval).replace("epochs = 5", "epochs = 1"))).run().runDirectory();
            String student = experiment(train, eval) + "teacher.run = \"" + teacherRun + "\"\ndata.labels = [pos, neg]\n"
                    + "objectives = [ { name = soft-target-kl } ]\n";
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(student), "run.dir=" + dir.resolve("s")).run())
                    .hasMessageContaining("teacher.run = " + teacherRun).hasMessageContaining("[neg, pos]").hasMessageContaining("[pos, neg]")
                    .hasMessageContaining("set data.labels = [neg, pos]");
            assertThat(dir.resolve("s").resolve("metrics.jsonl")).doesNotExist();
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment(train, eval) + "teacher.run = \"" + dir.resolve("nope") + "\"\n"),
                    "run.dir=" + dir.resolve("n")).run()).hasMessageContaining("teacher.run is '" + dir.resolve("nope") + "', which is not a directory");
            assertThat(dir.resolve("n").resolve("metrics.jsonl")).doesNotExist();
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment(train, eval) + "teacher { run = x, source = y }\n")).validate())
                    .hasMessageContaining("teacher.source").hasMessageContaining("teacher.run is set too");
        }
    }

    @Test
    void prefixAndPromptTuningTrainThroughTheHostSaveThePeftAdapterAndEvalReloadsThem() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(48, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(24, 2));
        for (String[] method : new String[][] {{"method { name = prefix-tuning, num-virtual-tokens = 4, prefix-projection = true }", "PREFIX_TUNING"},
                {"method { name = prompt-tuning, num-virtual-tokens = 4 }", "PROMPT_TUNING"}}) {
            try (Peft4j peft4j = host()) {
                RunResult result = peft4j.experiment(ConfigFactory.parseString(experiment(train, eval, method[0])), "train.epochs = 2",
                        "run.dir = \"" + dir.resolve(method[1]) + "\"").run();
                Path run = result.runDirectory();
                TensorFiles files = new SafetensorsTensorFiles();
                try (NDManager m = Engine.getInstance().newBaseManager()) {
                    // what trains: the prompt encoder (the projection MLP too) and the head, nothing of the backbone
                    assertThat(files.read(run.resolve(TrainingRunner.TRAINED_FILE), m).keySet())
                            .contains("classifier.weight", "prompt_encoder.default.embedding.weight").allMatch(
                                    k -> k.startsWith("prompt_encoder.default.") || k.startsWith("classifier."));
                    assertThat(files.read(run.resolve("adapter/adapter_model.safetensors"), m)).containsKey("prompt_embeddings");
                }
                assertThat(Files.readString(run.resolve("adapter/adapter_config.json"))).contains("\"peft_type\": \"" + method[1] + "\"");
                ValidatedExperiment again = peft4j.experiment(run.resolve("resolved.conf")).validate();
                try (TaskSetup setup = TrainingRunner.restore(again, new TinyLoader(), new PluginContexts(files), files, run, true)) {
                    Evaluation e = Evaluator.evaluate(setup.taskModel(), setup.eval().orElseThrow(), 64, setup.padId());
                    assertThat(e.metrics().get("accuracy")).as(method[1]).isEqualTo(result.metrics().get("accuracy"));
                }
            }
        }
    }

    /** Issue #15 item 4: data.bad-rows = skip counts every skipped row and names the first ten in the summary, report.html and eval.json. */
    @Test
    void skippedBadRowsAreCountedAndNamedInTheSummaryReportAndEvalJson() throws Exception {
        List<String> lines = new ArrayList<>(Files.readAllLines(tsv("train.tsv", TinySetup.examples(48, 1)), StandardCharsets.UTF_8));
        for (int i = 0; i < 12; i++) {
            lines.add(2 + 4 * i, "a row without its label " + i);
        }
        Path train = dir.resolve("train.tsv");
        Files.write(train, lines, StandardCharsets.UTF_8);
        Path eval = tsv("dev.tsv", TinySetup.examples(16, 2));
        Files.writeString(eval, "one\ttwo\tthree\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        String config = experiment(train, eval).replace("epochs = 5", "epochs = 1");
        try (Peft4j peft4j = host()) {
            assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(config)).run()).isInstanceOf(DataException.class)
                    .hasMessageStartingWith(train + ":3: has 1 fields, expected 2").hasMessageContaining("data.bad-rows = skip");
        }
        java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
        java.io.PrintStream err = System.err;
        RunResult result;
        System.setErr(new java.io.PrintStream(console, true, StandardCharsets.UTF_8));
        try (Peft4j peft4j = host()) {
            result = peft4j.experiment(ConfigFactory.parseString(config + "data.bad-rows = skip\n")).run();
        } finally {
            System.setErr(err);
        }
        String summary = console.toString(StandardCharsets.UTF_8);
        assertThat(summary).contains("data.train: skipped 12 bad rows (data.bad-rows = skip); the first 10: " + train + ":3: has 1 fields")
                .contains("data.eval: skipped 1 bad row (data.bad-rows = skip); all: " + eval + ":18: has 3 fields");
        assertThat(summary).contains("48 training and 16 evaluation examples");
        com.google.gson.JsonObject json = com.google.gson.JsonParser.parseString(Files.readString(result.runDirectory().resolve("eval.json")))
                .getAsJsonObject().getAsJsonObject("bad_rows");
        assertThat(json.getAsJsonObject("data.train").get("skipped").getAsInt()).isEqualTo(12);
        assertThat(json.getAsJsonObject("data.train").getAsJsonArray("first")).hasSize(10);
        assertThat(json.getAsJsonObject("data.train").getAsJsonArray("first").get(9).getAsString()).startsWith(train + ":39: has 1 fields");
        assertThat(json.getAsJsonObject("data.eval").get("skipped").getAsInt()).isEqualTo(1);
        String html = Files.readString(result.runDirectory().resolve("report.html"));
        assertThat(html).contains("<h2>Skipped rows</h2>").contains("data.train: skipped 12 bad rows").contains(eval + ":18: has 3 fields");
    }

    /** Issue #15 item 4: a label in the evaluation data that training never saw is an error naming the label and its line. */
    @Test
    void aLabelTheTrainingDataNeverHadIsAnErrorNamingItAndItsLine() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(16, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(8, 2));
        List<String> lines = new ArrayList<>(Files.readAllLines(eval, StandardCharsets.UTF_8));
        lines.set(4, "an ambivalent movie\tneutral");
        Files.write(eval, lines, StandardCharsets.UTF_8);
        try (Peft4j peft4j = host()) {
            for (String policy : List.of("fail", "skip")) {
                assertThatThrownBy(() -> peft4j.experiment(ConfigFactory.parseString(experiment(train, eval) + "data.bad-rows = " + policy)).run())
                        .as(policy).isInstanceOf(DataException.class).hasMessageStartingWith(eval + ":5: label 'neutral' is not in the label vocabulary [neg, pos]");
            }
        }
    }

    /** Issue #15 item 4: a 1 MB line trains and evaluates (the tokenizer truncates it; the HF path is HfTextTokenizerTest's). */
    @Test
    void aOneMegabyteLineTrainsAndEvaluates() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(16, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(8, 2));
        String huge = "good movie ".repeat(95_000) + "x";
        Files.writeString(train, huge + "\tpos\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        Files.writeString(eval, huge + "\tneg\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        assertThat(huge.length()).isGreaterThan(1_000_000);
        try (Peft4j peft4j = host()) {
            // the tiny BERT has 64 positions: the line is cut to them (the default max-length, 128, is the real models')
            RunResult result = peft4j.experiment(ConfigFactory.parseString(experiment(train, eval).replace("epochs = 5", "epochs = 1")
                    + "model.max-length = 64\n")).run();
            assertThat(result.metrics().get("accuracy")).isBetween(0.0, 1.0);
            com.google.gson.JsonObject json = com.google.gson.JsonParser.parseString(Files.readString(result.runDirectory().resolve("eval.json")))
                    .getAsJsonObject();
            assertThat(json.get("examples").getAsInt()).isEqualTo(9);
        }
    }

    /**
     * Issue #15 item 5: run-complete.json is written last and removed when training starts, so a run directory left by a kill
     * is recognisable, and eval/predict (TrainingRunner.restore) say what it is and what to do.
     */
    @Test
    void aHalfWrittenRunDirectoryIsRecognisedAndExplained() throws Exception {
        Path train = tsv("train.tsv", TinySetup.examples(24, 1));
        Path eval = tsv("dev.tsv", TinySetup.examples(8, 2));
        TensorFiles files = new SafetensorsTensorFiles();
        try (Peft4j peft4j = host()) {
            String config = experiment(train, eval).replace("epochs = 5", "epochs = 1");
            Path run = peft4j.experiment(ConfigFactory.parseString(config)).run().runDirectory();
            assertThat(Files.readString(run.resolve(TrainingRunner.COMPLETE_MARKER))).startsWith("{\"steps\": 3, \"finished\": ");
            ValidatedExperiment again = peft4j.experiment(run.resolve("resolved.conf")).validate();
            TrainingRunner.restore(again, new TinyLoader(), new PluginContexts(files), files, run, false).close();

            // killed after the trained tensors, before report.html and the marker
            Files.delete(run.resolve(TrainingRunner.COMPLETE_MARKER));
            Files.delete(run.resolve("report.html"));
            assertThatThrownBy(() -> TrainingRunner.restore(again, new TinyLoader(), new PluginContexts(files), files, run, false))
                    .isInstanceOf(dev.peft4j.api.Peft4jException.class)
                    .hasMessage(run + " is not a finished run: it was stopped while writing its outputs (no run-complete.json, which is written"
                            + " last); its last checkpoint is " + run.resolve("checkpoints/last") + ": run peft4j train with the same config to"
                            + " resume and finish it");
            // killed during training: no trained tensors yet
            Files.delete(run.resolve(TrainingRunner.TRAINED_FILE));
            assertThatThrownBy(() -> TrainingRunner.restore(again, new TinyLoader(), new PluginContexts(files), files, run, false))
                    .hasMessageStartingWith(run + " is not a finished run: training was stopped before the end (no model/trainable.safetensors,"
                            + " no run-complete.json); its last checkpoint is ");
            Checkpointer.deleteTree(run.resolve("checkpoints"));
            assertThatThrownBy(() -> TrainingRunner.restore(again, new TinyLoader(), new PluginContexts(files), files, run, false))
                    .hasMessageEndingWith("; it has no checkpoint, so peft4j train with the same config starts it again");
            // training again finishes it, and the marker is back
            peft4j.experiment(ConfigFactory.parseString(config)).run();
            assertThat(run.resolve(TrainingRunner.COMPLETE_MARKER)).exists();
            TrainingRunner.restore(again, new TinyLoader(), new PluginContexts(files), files, run, false).close();
        }
    }
}
