package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.Batcher;
import dev.peft4j.runtime.data.TokenizedDataset;
import java.util.OptionalDouble;

/** How close a student is to its teacher on held-out data. */
public final class TeacherComparison {
    private TeacherComparison() {}

    /**
     * The mean over examples of {@code KL(softmax(teacher) || softmax(student))} at temperature 1, on
     * classification logits {@code [batch, classes]}; empty for other outputs (per-token logits).
     */
    public static OptionalDouble klToTeacher(TaskModel student, Teacher teacher, TokenizedDataset data, int batchSize, long padId) {
        requireNonNull(student, "student is null");
        requireNonNull(teacher, "teacher is null");
        if (!teacher.hasLogits()) {
            return OptionalDouble.empty();
        }
        double sum = 0;
        long rows = 0;
        for (Batch batch : new Batcher(data, batchSize, 1, padId).evaluation()) {
            try (NDManager step = student.backbone().manager().newSubManager()) {
                ForwardContext context = ForwardContext.inference(step);
                ModelInput input = batch.input(step);
                NDArray s = student.forward(input, context);
                NDArray t = teacher.outputs(teacher.input(batch, data, input, step), false, context).head();
                if (s.getShape().dimension() != 2 || !s.getShape().equals(t.getShape())) {
                    return OptionalDouble.empty();
                }
                NDArray logT = t.logSoftmax(-1);
                sum += logT.exp().mul(logT.sub(s.logSoftmax(-1))).sum().getFloat();
                rows += batch.size();
            }
        }
        return rows == 0 ? OptionalDouble.empty() : OptionalDouble.of(sum / rows);
    }
}
