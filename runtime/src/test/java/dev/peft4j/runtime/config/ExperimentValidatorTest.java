package dev.peft4j.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.peft4j.api.config.ConfigProblem;
import dev.peft4j.api.config.InvalidConfigException;
import dev.peft4j.runtime.plugin.PluginDiscovery;
import dev.peft4j.runtime.plugin.PluginRegistry;
import dev.peft4j.runtime.plugin.TestBuiltinPlugin;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExperimentValidatorTest {
    static final PluginRegistry REGISTRY = PluginDiscovery.discover(ExperimentValidatorTest.class.getClassLoader(), null);

    /** The trainer's defaults, which the experiment's train section gets. */
    static final com.typesafe.config.Config TRAIN_DEFAULTS = REGISTRY.reference().resolve().getConfig("train");

    @TempDir
    Path dir;

    static ExperimentValidator validator(PluginRegistry registry) {
        return new ExperimentValidator(registry, Set.of(ModelSettings.SECTION, RunSettings.SECTION, PluginSettings.SECTION));
    }

    private Path write(String name, String text) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    private List<String> problems(Path file, String... overrides) {
        try {
            validator(REGISTRY).validate(ExperimentConfig.load(file, List.of(overrides)));
        } catch (InvalidConfigException e) {
            return e.problems().stream().map(ConfigProblem::toString).toList();
        }
        throw new AssertionError("expected problems");
    }

    static final String VALID = """
            model { source = "maven:dev.example:model:1.0", max-length = 64 }
            method {
              name = test-freeze
              keep-trainable = [classifier.weight]
            }
            head { name = test-head, num-labels = 3 }
            data.train { path = train.txt, format = test-lines, lowercase = true }
            train.epochs = 2
            """;

    @Test
    void aValidExperimentCarriesEveryParsedPart() throws Exception {
        Path file = write("exp.conf", VALID);
        ValidatedExperiment v = validator(REGISTRY).validate(ExperimentConfig.load(file, List.of()));
        assertThat(v.method().name()).isEqualTo("test-freeze");
        assertThat(v.method().config()).isEqualTo(new TestBuiltinPlugin.FreezeConfig(List.of("classifier.weight"), 1.0));
        assertThat(v.head().orElseThrow().config()).isEqualTo(new TestBuiltinPlugin.HeadConfig(3));
        assertThat(v.datasets()).containsOnlyKeys("train");
        assertThat(v.datasets().get("train").config()).isEqualTo(new TestBuiltinPlugin.LinesConfig(true));
        assertThat(v.model()).isEqualTo(new ModelSettings("maven:dev.example:model:1.0", "auto", 64));
        assertThat(v.run().directory()).isEqualTo(Path.of("runs/experiment"));
        assertThat(v.objectives()).isEmpty();
        // the effective config has the factory's defaults filled in, and no peft4j.* tree
        assertThat(v.config().getDouble("method.scale")).isEqualTo(1.0);
        assertThat(v.config().getInt("train.epochs")).isEqualTo(2);
        assertThat(v.config().hasPath("peft4j")).isFalse();
    }

    @Test
    void threeMistakesAreReportedTogetherWithTheirLines() throws Exception {
        Path file = write("bad.conf", """
                model.source = "maven:dev.example:model:1.0"
                method.name = test-freez
                train {
                  epohcs = 3
                  batch-size = sixteen
                }
                """);
        assertThat(problems(file)).containsExactly(
                file + ":2: method.name: unknown adapter method 'test-freez' (did you mean 'test-freeze'?); registered adapter methods: "
                        + String.join(", ", REGISTRY.names(dev.peft4j.runtime.plugin.ComponentKind.ADAPTER_METHOD)),
                file + ":4: train.epohcs: unknown key (did you mean 'epochs'?); valid keys in train: "
                        + String.join(", ", new java.util.TreeSet<>(TRAIN_DEFAULTS.root().keySet())),
                file + ":5: train.batch-size: is \"sixteen\" (string), expected a number (default: " + TRAIN_DEFAULTS.getInt("batch-size") + ")");
    }

    @Test
    void typesafesMisleadingMessagesAreSaidPlainly() throws Exception {
        Path brace = write("brace.conf", "model { source = \"x\"\nmethod.name = test-freeze\n");
        assertThat(problems(brace)).singleElement().asString().isEqualTo(brace + ":3: : the file ends inside an object or a list: a closing '}' or ']' is missing");
        Path include = write("include.conf", "include required(file(\"" + dir.resolve("nope.conf") + "\"))\n" + VALID);
        assertThat(problems(include)).singleElement().asString().contains("an included file does not exist: " + dir.resolve("nope.conf"));
        Path file = write("exp.conf", VALID);
        assertThat(problems(file, "train.epochs=${train.batch-size}", "train.batch-size=${train.epochs}")).singleElement().asString()
                .contains("a substitution refers to itself").hasSizeLessThan(300);
    }

    @Test
    void anUnknownSelectionMetricIsAProblemAtValidation() throws Exception {
        ExperimentValidator withTrain = new ExperimentValidator(REGISTRY, Set.of(ModelSettings.SECTION, RunSettings.SECTION, PluginSettings.SECTION,
                dev.peft4j.runtime.train.TrainConfig.SECTION));
        Path bad = write("metric.conf", VALID + "train.metric = bleu\ntrain.epochs = 1.5\n");
        assertThatThrownBy(() -> withTrain.validate(ExperimentConfig.load(bad, List.of()))).isInstanceOfSatisfying(InvalidConfigException.class,
                e -> assertThat(e.problems().stream().map(ConfigProblem::toString).toList()).satisfiesExactlyInAnyOrder(
                        p -> assertThat(p).contains("train.metric: is 'bleu', expected one of").contains("accuracy").contains("f1_<TYPE>"),
                        p -> assertThat(p).contains("train.epochs: is 1.5, expected an integer")));
        Path perType = write("metric2.conf", VALID + "train.metric = f1_PER\n");
        assertThat(withTrain.validate(ExperimentConfig.load(perType, List.of())).config().getString("train.metric")).isEqualTo("f1_PER");
    }

    @Test
    void factoryProblemsArePlacedUnderTheSectionWithTheUsersLine() throws Exception {
        Path file = write("f.conf", """
                model.source = /models/x
                method {
                  name = test-freeze
                  scale = 20
                  sclae = 2
                }
                head.num-labels = 4
                """);
        assertThat(problems(file)).containsExactly(
                file + ":4: method.scale: is 20, expected a number in (0, 10]",
                file + ":5: method.sclae: unknown key (did you mean 'scale'?); known keys: [keep-trainable, scale]",
                file + ":7: head.name: is not set, but head has keys [num-labels]; set head.name to one of: "
                        + String.join(", ", REGISTRY.names(dev.peft4j.runtime.plugin.ComponentKind.TASK_HEAD)));
    }

    @Test
    void aRunRecordFromAnEarlierVersionStillValidatesButAnExperimentFileIsToldWhereTheKeyWent() throws Exception {
        String text = """
                model.source = tiny
                method.name = lora
                head.name = sequence-classification
                data { train { path = "/x/train.tsv", format = tsv, skip-bad-rows = true }, eval { path = "/x/dev.tsv", format = tsv, skip-bad-rows = false } }
                """;
        Path record = dir.resolve("old-run");
        Files.createDirectories(record);
        Files.writeString(record.resolve("resolved.conf"), text);
        ExperimentConfig migrated = ExperimentConfig.load(record.resolve("resolved.conf"), List.of());
        assertThat(migrated.userConfig().hasPath("data.train.skip-bad-rows")).isFalse();
        assertThat(migrated.userConfig().hasPath("data.eval.skip-bad-rows")).isFalse();
        assertThat(migrated.userConfig().getString("data.bad-rows")).isEqualTo("skip");
        Path file = write("mine.conf", text);
        assertThat(problems(file)).anyMatch(p -> p.contains("data.train.skip-bad-rows: is no longer a reader key"));
    }

    @Test
    void aNullMethodSectionIsMissingAtItsLine() throws Exception {
        // found by ConfigFilesFuzzTest: a null section escaped as a raw ConfigException$Null while locating it
        Path file = write("null-method.conf", """
                model.source = tiny
                method = null
                """);
        assertThat(problems(file)).contains(file + ":2: method.name: is missing, expected the name of an adapter method; registered adapter methods: "
                + String.join(", ", REGISTRY.names(dev.peft4j.runtime.plugin.ComponentKind.ADAPTER_METHOD)));
    }

    @Test
    void unknownSectionsAndMissingRequiredValues() throws Exception {
        Path file = write("u.conf", """
                tarin { epochs = 1 }
                model.device = tpu
                """);
        assertThat(problems(file)).containsExactly(
                file + ":1: tarin: unknown key (did you mean 'train'?); valid keys: "
                        + String.join(", ", new java.util.TreeSet<>(REGISTRY.reference().root().keySet())),
                file + ":1: method.name: is missing, expected the name of an adapter method; registered adapter methods: "
                        + String.join(", ", REGISTRY.names(dev.peft4j.runtime.plugin.ComponentKind.ADAPTER_METHOD)),
                file + ":2: model.device: is 'tpu', expected auto, cpu, gpu or gpu:N",
                file + ": model.source: is not set, expected an HF model directory or maven:GROUP:ARTIFACT:VERSION"
                        + " (the default, from reference.conf:8)");
    }

    @Test
    void modelInitIsPretrainedOrRandom() throws Exception {
        Path file = write("i.conf", """
                model.source = "maven:dev.example:model:1.0"
                method.name = test-freeze
                model.init = scratch
                """);
        assertThat(problems(file)).containsExactly(file + ":3: model.init: is 'scratch', expected one of [pretrained, random]");
        Path ok = write("r.conf", """
                model { source = "maven:dev.example:model:1.0", init = random, init-seed = 7 }
                method.name = test-freeze
                """);
        ValidatedExperiment v = validator(REGISTRY).validate(ExperimentConfig.load(ok, List.of()));
        assertThat(v.model()).isEqualTo(new ModelSettings("maven:dev.example:model:1.0", "auto", 128, "random", 7));
        assertThat(v.model().randomInit()).isTrue();
    }

    @Test
    void objectivesHaveAHostWeightAndTheirOwnCheckedKeys() throws Exception {
        Path file = write("w.conf", """
                model.source = "maven:dev.example:model:1.0"
                method.name = test-freeze
                objectives = [
                  { name = soft-target-kl, temperature = 0, weight = -1 }
                  { name = hidden-state, weight = 0.5, teacher-layers = [3] }
                ]
                """);
        assertThat(problems(file)).containsExactly(
                file + ":4: objectives[0].temperature: is 0, expected a number in (0, 1000]",
                file + ":4: objectives[0].weight: is -1, expected a number >= 0 (the objective's factor in the training loss; default 1)",
                file + ":5: objectives[1].teacher-layers: has 1 entries [3] but student-layers has 0 []; expected one teacher layer per student layer");
        Path ok = write("w2.conf", """
                model.source = "maven:dev.example:model:1.0"
                method.name = test-freeze
                objectives = [ { name = soft-target-kl, temperature = 4, weight = 0.25 } ]
                """);
        ValidatedExperiment v = validator(REGISTRY).validate(ExperimentConfig.load(ok, List.of()));
        assertThat(v.objectives()).singleElement().satisfies(o -> assertThat(o.name()).isEqualTo("soft-target-kl"));
        assertThat(v.config().getConfigList("objectives").get(0).getDouble("weight")).isEqualTo(0.25);
        assertThat(v.config().getConfigList("objectives").get(0).getDouble("alpha")).isEqualTo(0.5);
    }

    @Test
    void keepLayersMustBeStrictlyIncreasingAndNonNegative() throws Exception {
        Path file = write("k.conf", """
                model.source = "maven:dev.example:model:1.0"
                method.name = test-freeze
                model.keep-layers = [4, 2, -1]
                """);
        assertThat(problems(file)).containsExactly(
                file + ":3: model.keep-layers: is [4, 2, -1]: it is not strictly increasing (4 then 2), expected sorted layer indices without"
                        + " repeats, e.g. [0, 2, 4]; it contains -1, expected layer indices >= 0; it is not strictly increasing (2 then -1),"
                        + " expected sorted layer indices without repeats, e.g. [0, 2, 4]");
        Path ok = write("k2.conf", """
                model { source = "maven:dev.example:model:1.0", keep-layers = [0, 2, 4] }
                method.name = test-freeze
                """);
        assertThat(validator(REGISTRY).validate(ExperimentConfig.load(ok, List.of())).model().keepLayers()).containsExactly(0, 2, 4);
    }

    @Test
    void overridesAreTypedAndSayCommandLine() throws Exception {
        Path file = write("exp.conf", VALID);
        ValidatedExperiment v = validator(REGISTRY).validate(ExperimentConfig.load(file,
                List.of("method.scale=2.5", "model.source=maven:a:b:c", "method.keep-trainable=[a, b]", "run.name=r1")));
        assertThat(v.method().config()).isEqualTo(new TestBuiltinPlugin.FreezeConfig(List.of("a", "b"), 2.5));
        assertThat(v.model().source()).isEqualTo("maven:a:b:c");
        assertThat(v.run().directory()).isEqualTo(Path.of("runs/r1"));
        assertThat(problems(file, "method.scale=11", "train.epochs=many", "nokey"))
                .containsExactly("command line (nokey): nokey: expected key=value");
        assertThat(problems(file, "method.scale=11", "train.epochs=many")).containsExactly(
                "command line (method.scale=11): method.scale: is 11, expected a number in (0, 10]",
                "command line (train.epochs=many): train.epochs: is \"many\" (string), expected a number (default: "
                        + TRAIN_DEFAULTS.getInt("epochs") + ")");
    }

    @Test
    void includesAndEnvironmentSubstitution() throws Exception {
        write("base.conf", "model { source = \"maven:g:a:1\" }\nmethod.name = test-freeze\n");
        Path file = write("child.conf", """
                include "base.conf"
                run.dir = ${?HOME}"/peft4j-runs"
                run.name = ${?PEFT4J_SURELY_UNSET_VARIABLE}
                method.scale = 3
                """);
        ValidatedExperiment v = validator(REGISTRY).validate(ExperimentConfig.load(file, List.of()));
        assertThat(v.model().source()).isEqualTo("maven:g:a:1");
        assertThat(v.run().directory()).isEqualTo(Path.of(System.getenv("HOME") + "/peft4j-runs"));
        assertThat(v.run().name()).isEqualTo("experiment");
        assertThat(v.config().getDouble("method.scale")).isEqualTo(3.0);
    }

    @Test
    void syntaxErrorsHaveALine() throws Exception {
        Path file = write("s.conf", "model {\n  source = \"x\"\n  device = [\n");
        assertThatThrownBy(() -> ExperimentConfig.load(file, List.of())).isInstanceOfSatisfying(InvalidConfigException.class,
                e -> assertThat(e.problems().get(0).origin()).isEqualTo(file + ":4"));
    }

    @Test
    void resolvedConfValidatesAgainToTheSameExperiment() throws Exception {
        Path file = write("exp.conf", VALID);
        ValidatedExperiment v = validator(REGISTRY).validate(ExperimentConfig.load(file, List.of("method.scale=4")));
        Path resolved = v.writeResolved(dir.resolve("run"));
        assertThat(resolved.getFileName().toString()).isEqualTo("resolved.conf");
        ValidatedExperiment again = validator(REGISTRY).validate(ExperimentConfig.load(resolved, List.of()));
        assertThat(again.method().config()).isEqualTo(v.method().config());
        assertThat(again.head().orElseThrow().config()).isEqualTo(v.head().orElseThrow().config());
        assertThat(again.settings()).isEqualTo(v.settings());
        assertThat(again.config().root().unwrapped()).isEqualTo(v.config().root().unwrapped());
        // written with the user's umask, like any new file (a createTempFile rename used to leave it 0600), and no temp file left
        Path sibling = Files.writeString(dir.resolve("run").resolve("plain.txt"), "x");
        assertThat(Files.getPosixFilePermissions(resolved)).isEqualTo(Files.getPosixFilePermissions(sibling));
        try (var listing = Files.list(dir.resolve("run"))) {
            assertThat(listing.map(f -> f.getFileName().toString())).containsExactlyInAnyOrder("resolved.conf", "plain.txt");
        }
    }

    @Test
    void objectivesAndDataSplitsAreComponentsToo() throws Exception {
        String readers = String.join(", ", REGISTRY.names(dev.peft4j.runtime.plugin.ComponentKind.DATASET_READER));
        Path file = write("o.conf", """
                model.source = x
                method.name = test-freeze
                objectives = [ { name = kd-logits, temperature = 2 }, 3 ]
                data.train.path = t.txt
                data.eval { path = e.txt, format = tvs }
                data.test.path = x
                """);
        assertThat(problems(file)).containsExactly(
                file + ":3: objectives[0].name: unknown objective 'kd-logits'; registered objectives: " + String.join(", ", REGISTRY.names(dev.peft4j.runtime.plugin.ComponentKind.OBJECTIVE)),
                file + ":3: objectives[1]: is 3, expected an object { name = ..., <its keys> }",
                file + ":4: data.train.format: is missing, expected the name of a dataset reader; registered dataset readers: " + readers,
                file + ":5: data.eval.format: unknown dataset reader 'tvs' (did you mean 'tsv'?); registered dataset readers: " + readers,
                file + ":6: data.test: unknown key; valid keys in data: "
                        + String.join(", ", new java.util.TreeSet<>(REGISTRY.reference().resolve().getObject("data").keySet())));
    }
}
