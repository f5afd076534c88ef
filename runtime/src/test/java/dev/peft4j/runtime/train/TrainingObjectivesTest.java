package dev.peft4j.runtime.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.ConfigFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.spi.ObjectiveFactory;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.distillation.DistillationLosses;
import dev.peft4j.distillation.DistillationPlugin;
import dev.peft4j.models.bert.BertConfig;
import dev.peft4j.models.bert.BertModel;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.Batcher;
import dev.peft4j.runtime.plugin.PluginContexts;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The objectives run: the trainer's loss is the head's loss plus each configured objective's, weighted,
 * with the teacher's forward on the same batch. Each test fails if an objective is dropped on the way.
 */
class TrainingObjectivesTest {
    static final Batch BATCH = new Batcher(TinySetup.dataset(8, 3), 8, 1, 0).trainingEpoch(1, 0).get(0);

    static Teacher teacher(NDManager parent, int hidden) {
        BertModel backbone = BertModel.random(BertConfig.of(64, hidden, 2, 2, 32, 64), parent, 11, false);
        return new Teacher(backbone, TinySetup.head(backbone, "sequence-classification", "num-labels = 2, pooling = mean"), "test teacher");
    }

    @SuppressWarnings("unchecked")
    static TrainingObjectives.Weighted objective(String name, String overrides, float weight, TaskModel student, Teacher teacher, int index) {
        ObjectiveFactory<Object> f = (ObjectiveFactory<Object>) new DistillationPlugin().objectives().stream().filter(x -> x.name().equals(name))
                .findFirst().orElseThrow();
        PluginContexts contexts = new PluginContexts(new SafetensorsTensorFiles());
        PluginContext context = contexts.withTeacher(contexts.create(student.backbone(), null, Device.cpu(), null, 5), teacher.backbone());
        Object config = f.parseConfig(ConfigFactory.parseString(overrides)
                .withFallback(ConfigFactory.defaultReference().getConfig("peft4j.objectives." + name)));
        return new TrainingObjectives.Weighted("objectives[" + index + "]", name, f.create(config, context), weight);
    }

    @Test
    void softTargetKdReplacesTheTaskLossWithItsAlphaMix() {
        try (NDManager manager = TinySetup.manager()) {
            TaskModel student = TinySetup.model(manager);
            Teacher teacher = teacher(manager, 16);
            try (NDManager step = manager.newSubManager()) {
                ForwardContext ctx = ForwardContext.inference(step);
                ModelInput input = BATCH.input(step);
                NDArray labels = BATCH.labels(step);
                NDArray logits = student.forward(input, ctx);
                float task = student.head().loss(logits, labels, ctx).getFloat();
                float plain = student.trainingLoss(input, labels, ctx).getFloat();
                assertThat(plain).isEqualTo(task);

                student.setObjectives(TrainingObjectives.of(List.of(objective("soft-target-kl", "temperature = 2, alpha = 0.7", 1f, student,
                        teacher, 0)), teacher));
                float kd = DistillationLosses.softTargetKl(logits, teacher.outputs(input, false, ctx).head(), 2f, ctx).getFloat();
                float total = student.trainingLoss(input, labels, ctx).getFloat();
                assertThat(Math.abs(total - task)).as("a configured objective changes the loss").isGreaterThan(1e-4f);
                assertThat(total).isCloseTo(0.7f * kd + 0.3f * task, within(1e-5f));
            }
        }
    }

    @Test
    void aWeightedObjectiveIsAddedToTheTaskLossAndItsProjectionTrains() {
        try (NDManager manager = TinySetup.manager()) {
            TaskModel student = TinySetup.model(manager);
            Teacher teacher = teacher(manager, 24);
            TrainingObjectives.Weighted hidden = objective("hidden-state", "student-layers = [0, 1], teacher-layers = [0, 2]", 0.5f, student, teacher, 0);
            student.setObjectives(TrainingObjectives.of(List.of(hidden), teacher));
            Map<String, Parameter> trainable = student.trainableParameters();
            assertThat(trainable).containsKeys("objectives.0.projection.weight", "objectives.0.projection.bias", "classifier.weight");
            try (NDManager step = manager.newSubManager()) {
                ForwardContext ctx = ForwardContext.inference(step).setAttribute(BertModel.OUTPUT_HIDDEN_STATES, true);
                ModelInput input = BATCH.input(step);
                NDArray labels = BATCH.labels(step);
                ModelOutput out = student.backbone().forward(input, ctx);
                float task = student.head().loss(student.head().forward(out, input, ctx), labels, ctx).getFloat();
                ModelOutput teacherOut = teacher.outputs(input, true, ctx).backbone();
                var projection = hidden.objective().modules().get("projection");
                float mse = (DistillationLosses.maskedMse(projection.forward(out.hiddenStates().get(0), ctx), teacherOut.hiddenStates().get(0),
                        input.attentionMask(), ctx).getFloat()
                        + DistillationLosses.maskedMse(projection.forward(out.hiddenStates().get(1), ctx), teacherOut.hiddenStates().get(2),
                                input.attentionMask(), ctx).getFloat()) / 2;
                float total = student.trainingLoss(input, labels, ForwardContext.inference(step)).getFloat();
                assertThat(total).isCloseTo(task + 0.5f * mse, within(1e-5f));
            }
            // the trainer's own step: gradients reach the projection, never the teacher
            Trainer.forwardBackward(student, BATCH, 1);
            try (NDArray g = trainable.get("objectives.0.projection.weight").value().getGradient()) {
                assertThat(g.abs().sum().getFloat()).isGreaterThan(0f);
            }
            assertThat(teacher.backbone().module().trainableParameterCount()).isZero();
        }
    }

    /** Attention transfer: the trainer records both models' attention maps, and the loss is task + weight x the maps' KL. */
    @Test
    void attentionTransferReadsBothModelsAttentionMaps() {
        try (NDManager manager = TinySetup.manager()) {
            TaskModel student = TinySetup.model(manager);
            Teacher teacher = teacher(manager, 16);
            student.setObjectives(TrainingObjectives.of(List.of(objective("attention", "student-layers = [0], teacher-layers = [1]", 1000f, student,
                    teacher, 0)), teacher));
            try (NDManager step = manager.newSubManager()) {
                ForwardContext ctx = ForwardContext.inference(step);
                dev.peft4j.api.model.AttentionCapture capture = new dev.peft4j.api.model.AttentionCapture();
                ctx.setAttribute(dev.peft4j.api.model.AttentionCapture.KEY, capture);
                ModelInput input = BATCH.input(step);
                NDArray labels = BATCH.labels(step);
                ModelOutput out = student.backbone().forward(input, ctx);
                float task = student.head().loss(student.head().forward(out, input, ctx), labels, ctx).getFloat();
                List<NDArray> teacherMaps = teacher.outputs(input, false, true, ForwardContext.inference(step)).attentions();
                assertThat(capture.maps()).hasSize(1);
                assertThat(teacherMaps).hasSize(2);
                // [batch, heads, seq, seq], rows summing to 1
                assertThat(capture.maps().get(0).getShape().dimension()).isEqualTo(4);
                assertThat(capture.maps().get(0).sum(new int[] {-1}).sub(1f).abs().max().getFloat()).isLessThan(1e-5f);
                float kl = DistillationLosses.attentionKl(capture.maps().get(0), teacherMaps.get(1), input.attentionMask(), ctx).getFloat();
                // random weights attend almost uniformly: a small KL, weighted up so that dropping it would show
                assertThat(kl).isGreaterThan(1e-6f);
                float total = student.trainingLoss(input, labels, ForwardContext.inference(step)).getFloat();
                assertThat(Math.abs(total - task)).isGreaterThan(1e-3f);
                assertThat(total).isCloseTo(task + 1000f * kl, within(1e-4f));
            }
        }
    }

    @Test
    void whatAnObjectiveNeedsIsCheckedBeforeTraining() {
        try (NDManager manager = TinySetup.manager()) {
            TaskModel student = TinySetup.model(manager);
            Teacher teacher = teacher(manager, 16);
            TrainingObjectives.Weighted kd = objective("soft-target-kl", "", 1f, student, teacher, 0);
            assertThatThrownBy(() -> TrainingObjectives.of(List.of(kd), null)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("objectives[0] (soft-target-kl) needs a teacher").hasMessageContaining("teacher.run");
            TrainingObjectives.Weighted second = objective("soft-target-kl", "", 1f, student, teacher, 1);
            assertThatThrownBy(() -> TrainingObjectives.of(List.of(kd, second), teacher)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("objectives[0] (soft-target-kl)").hasMessageContaining("objectives[1] (soft-target-kl)")
                    .hasMessageContaining("at most one");
            // attention maps come from a live teacher only
            TrainingObjectives attention = TrainingObjectives.of(List.of(objective("attention", "", 1f, student, teacher, 0)), teacher);
            TeacherCache cache = TeacherCache.compute(teacher, TinySetup.dataset(8, 3), 8, 0);
            assertThatThrownBy(() -> attention.withCache(cache)).isInstanceOf(Peft4jException.class)
                    .hasMessageContaining("objectives[0] (attention) needs the teacher's attention maps").hasMessageContaining("teacher.cache = false");
        }
    }
}
