package dev.peft4j.distillation;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.Objective;
import java.util.Set;

/**
 * Hinton's knowledge distillation on the head's logits (DistilBERT's {@code alpha_ce} term):
 * {@code alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * taskLoss}. It includes the
 * task loss, so the host does not add it again.
 */
final class SoftTargetKlObjective implements Objective {
    private final SoftTargetConfig config;

    SoftTargetKlObjective(SoftTargetConfig config) {
        this.config = requireNonNull(config, "config is null");
    }

    @Override
    public Set<Need> needs() {
        return Set.of(Need.TEACHER, Need.TEACHER_LOGITS);
    }

    @Override
    public boolean includesTaskLoss() {
        return true;
    }

    @Override
    public NDArray loss(Step step, ForwardContext context) {
        if (step.teacher() == null) {
            throw new Peft4jException("soft-target-kl needs a teacher's logits, but the step has none (set the experiment's teacher section)");
        }
        NDArray kd = DistillationLosses.softTargetKl(step.student().head(), step.teacher().head(), config.temperature(), context);
        return mix(kd, step.taskLoss(), config.alpha(), context);
    }

    /** {@code alpha * kd + (1 - alpha) * task}, with torch-owned constants. */
    static NDArray mix(NDArray kd, NDArray task, float alpha, ForwardContext context) {
        return kd.mul(context.scalar(alpha)).add(task.mul(context.scalar(1f - alpha)));
    }

    SoftTargetConfig config() {
        return config;
    }
}
