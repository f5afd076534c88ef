package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.Batcher;
import dev.peft4j.runtime.data.TokenizedDataset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** teacher.cache: the teacher's logits once, keyed by example index, fingerprinted by teacher and data. */
class TeacherCacheTest {
    static final TokenizedDataset TRAIN = TinySetup.dataset(40, 4);

    @TempDir
    Path dir;

    private static String open(Path file, Teacher teacher, TokenizedDataset data, TeacherCache[] out) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        out[0] = TeacherCache.openOrBuild(file, teacher, data, 16, 0, new SafetensorsTensorFiles(), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void cachedLogitsAreTheTeachersAndTheLossIsTheLiveOne() {
        try (NDManager manager = TinySetup.manager()) {
            Teacher teacher = TrainingObjectivesTest.teacher(manager, 16);
            Path file = dir.resolve("cache.safetensors");
            TeacherCache[] cache = new TeacherCache[1];
            assertThat(open(file, teacher, TRAIN, cache)).contains("wrote " + file).contains("40 examples x 2 logits");
            assertThat(open(file, teacher, TRAIN, cache)).contains("reusing " + file);

            TaskModel student = TinySetup.model(manager);
            student.setObjectives(TrainingObjectives.of(List.of(TrainingObjectivesTest.objective("soft-target-kl", "alpha = 0.6", 1f, student, teacher, 0)),
                    teacher));
            Batch batch = new Batcher(TRAIN, 8, 2, 0).trainingEpoch(3, 1).get(2); // shuffled: indices out of order
            try (NDManager step = manager.newSubManager()) {
                ForwardContext ctx = ForwardContext.inference(step);
                float[] live = teacher.outputs(batch.input(step), false, ctx).head().toFloatArray();
                float[] cached = cache[0].logits(batch, step).toFloatArray();
                assertThat(cached).hasSameSizeAs(live);
                for (int i = 0; i < live.length; i++) {
                    assertThat(cached[i]).isCloseTo(live[i], within(1e-5f));
                }
                float liveLoss = student.trainingLoss(batch, ctx).getFloat();
                student.setObjectives(student.objectives().withCache(cache[0]));
                float cachedLoss = student.trainingLoss(batch, ForwardContext.inference(step)).getFloat();
                assertThat(cachedLoss).isCloseTo(liveLoss, within(1e-5f));
            }
        }
    }

    @Test
    void anotherTeacherOrOtherDataRebuildTheCacheSayingWhy() {
        try (NDManager manager = TinySetup.manager()) {
            Teacher teacher = TrainingObjectivesTest.teacher(manager, 16);
            Path file = dir.resolve("cache.safetensors");
            TeacherCache[] cache = new TeacherCache[1];
            open(file, teacher, TRAIN, cache);
            NDArray w = teacher.backbone().module().namedParameters().get("encoder.layer.0.attention.self.query.weight").value();
            try (NDArray changed = w.add(manager.ones(w.getShape()))) {
                changed.copyTo(w);
            }
            assertThat(open(file, teacher, TRAIN, cache)).contains("stale").contains("built for teacher test teacher (fingerprint ")
                    .doesNotContain("training data");
            assertThat(open(file, teacher, TinySetup.dataset(40, 5), cache)).contains("stale").contains("its training data differ")
                    .doesNotContain("built for teacher");
            assertThat(cache[0].examples()).isEqualTo(40);
        }
    }

    @Test
    void hiddenStateObjectivesCannotReadACache() {
        try (NDManager manager = TinySetup.manager()) {
            Teacher teacher = TrainingObjectivesTest.teacher(manager, 16);
            TaskModel student = TinySetup.model(manager);
            TrainingObjectives objectives = TrainingObjectives.of(List.of(TrainingObjectivesTest.objective("hidden-state", "", 1f, student, teacher, 0)),
                    teacher);
            TeacherCache[] cache = new TeacherCache[1];
            open(dir.resolve("c.safetensors"), teacher, TRAIN, cache);
            assertThatThrownBy(() -> objectives.withCache(cache[0])).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("objectives[0] (hidden-state) needs the teacher's hidden states").hasMessageContaining("teacher.cache = false");
        }
    }
}
