package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.GsonBuilder;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Run-directory files are outside input too (issue #15 section 6): state.json and labels.json are checked field by field. */
class RunDirectoryFilesTest {
    @TempDir
    Path dir;

    static final String GOOD = new GsonBuilder().serializeSpecialFloatingPointValues().create()
            .toJson(new TrainState(5, 0, 5, Double.NEGATIVE_INFINITY, -1, 0, 1.5, 40, 0.7, 1));

    @Test
    void aWrittenStateReadsBackIncludingInfiniteBestValues() {
        assertThat(TrainState.parse(GOOD, "state.json")).isEqualTo(new TrainState(5, 0, 5, Double.NEGATIVE_INFINITY, -1, 0, 1.5, 40, 0.7, 1));
    }

    @Test
    void everyDamagedFieldIsNamedWithItsValue() {
        assertThatThrownBy(() -> TrainState.parse(GOOD.replace("\"step\":5", "\"step\":\"abc\""), "x/state.json"))
                .isInstanceOf(Peft4jException.class).hasMessageStartingWith("x/state.json: field \"step\" is \"abc\", expected an integer");
        assertThatThrownBy(() -> TrainState.parse(GOOD.replace("\"step\":5", "\"step\":-7"), "x/state.json"))
                .hasMessageContaining("field \"step\" is -7");
        assertThatThrownBy(() -> TrainState.parse(GOOD.replace("\"bestStep\":-1", "\"bestStep\":9"), "x/state.json"))
                .hasMessageContaining("field \"bestStep\" is 9, expected an integer from -1 to 5");
        assertThatThrownBy(() -> TrainState.parse(GOOD.replace("\"windowLoss\":0.7", "\"windowLoss\":NaN"), "x/state.json"))
                .hasMessageContaining("field \"windowLoss\" is \"NaN\", expected a finite number");
        assertThatThrownBy(() -> TrainState.parse(GOOD.replace(",\"epoch\":0", ""), "x/state.json"))
                .hasMessageContaining("field \"epoch\" is missing");
        assertThatThrownBy(() -> TrainState.parse("", "x/state.json")).hasMessageContaining("x/state.json").hasMessageContaining("empty file");
        assertThatThrownBy(() -> TrainState.parse(GOOD.substring(0, 20), "x/state.json")).hasMessageContaining("not valid JSON");
    }

    @Test
    void aCheckpointWithoutItsStateIsAnErrorNotAFreshStart() throws Exception {
        Checkpointer checkpoints = new Checkpointer(dir, new SafetensorsTensorFiles());
        try (NDManager manager = TinySetup.manager()) {
            Map<String, NDArray> t = Map.of("w", manager.create(new float[] {1f, 2f}));
            checkpoints.save("last", t, t, new TrainState(5, 0, 5, 0.5, 5, 0, 1.0, 40, 0.7, 1));
        }
        assertThat(checkpoints.exists("last")).isTrue();
        Files.delete(dir.resolve("last/state.json"));
        assertThatThrownBy(() -> checkpoints.exists("last")).isInstanceOf(Peft4jException.class)
                .hasMessageContaining("has no state.json").hasMessageContaining("optimizer.safetensors, trainable.safetensors");
    }

    @Test
    void temporariesOfAKilledWriteAreRemovedByTheNextSave() throws Exception {
        Checkpointer checkpoints = new Checkpointer(dir, new SafetensorsTensorFiles());
        Files.createDirectories(dir.resolve(".last.tmp-killed/x"));
        Files.createDirectories(dir.resolve(".best.tmp-other"));
        try (NDManager manager = TinySetup.manager()) {
            Map<String, NDArray> t = Map.of("w", manager.create(new float[] {1f, 2f}));
            checkpoints.save("last", t, t, new TrainState(5, 0, 5, 0.5, 5, 0, 1.0, 40, 0.7, 1));
        }
        try (var listing = Files.list(dir)) {
            assertThat(listing.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("last", ".best.tmp-other");
        }
    }

    @Test
    void aCheckpointBeyondTheRunIsRefusedBeforeTraining() {
        try (NDManager manager = TinySetup.manager()) {
            TaskModel model = TinySetup.model(manager);
            Checkpointer checkpoints = new Checkpointer(dir.resolve("checkpoints"), new SafetensorsTensorFiles());
            Map<String, NDArray> values = Trainer.values(model.trainableParameters());
            checkpoints.save("last", values, null, new TrainState(1000, 0, 5, 0.5, 5, 0, 1.0, 40, 0.7, 1));
            TrainConfig config = TinySetup.config(TrainerTest.CONFIG);
            assertThatThrownBy(() -> new Trainer(model, config, TrainerTest.TRAIN, TrainerTest.EVAL, 0, dir, new SafetensorsTensorFiles(),
                    new PrintStream(new ByteArrayOutputStream())).train())
                    .isInstanceOf(Peft4jException.class).hasMessageContaining("at step 1000").hasMessageContaining("outside this run of 36 steps");
        }
    }

    @Test
    void labelsJsonIsCheckedEntryByEntry() {
        assertThat(TaskSetup.parseLabels("[\"neg\", \"pos\"]\n", "labels.json")).containsExactly("neg", "pos");
        assertThatThrownBy(() -> TaskSetup.parseLabels("[\"neg\", \"po", "r/labels.json")).isInstanceOf(Peft4jException.class)
                .hasMessageStartingWith("r/labels.json: not valid JSON");
        assertThatThrownBy(() -> TaskSetup.parseLabels("[\"neg\", 1]", "r/labels.json")).hasMessageContaining("entry 1 is 1, expected a non-empty string");
        assertThatThrownBy(() -> TaskSetup.parseLabels("[\"a\", \"a\"]", "r/labels.json")).hasMessageContaining("\"a\" appears twice");
        assertThatThrownBy(() -> TaskSetup.parseLabels("", "r/labels.json")).hasMessageContaining("holds nothing");
        assertThatThrownBy(() -> TaskSetup.parseLabels("{}", "r/labels.json")).hasMessageContaining("expected a JSON array");
        assertThat(List.of()).isEmpty();
    }
}
