package dev.peft4j.distillation;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.Objective;
import java.util.Set;

/**
 * Token-level distillation for causal LMs: the KL between the teacher's and the student's next-token
 * distributions at every position whose label is not -100 (prompt and padding are left out), mixed with
 * the task loss by {@code alpha}. Teacher and student must share the vocabulary.
 */
final class TokenKlObjective implements Objective {
    private final TokenKlConfig config;

    TokenKlObjective(TokenKlConfig config) {
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
        if (step.teacher() == null || step.labels() == null) {
            throw new Peft4jException("token-kl needs the teacher's logits and the batch's labels, but the step has "
                    + (step.teacher() == null ? "no teacher (set the experiment's teacher section)" : "no labels"));
        }
        NDArray kd = DistillationLosses.tokenKl(
                // prompt tuning's virtual tokens come first in the student's (or the teacher's) logits: the text's positions only
                HiddenStateObjective.textPositions(step.student().head(), step.labels()),
                HiddenStateObjective.textPositions(step.teacher().head(), step.labels()), step.labels(), config.temperature(),
                config.shift(), context);
        return SoftTargetKlObjective.mix(kd, step.taskLoss(), config.alpha(), context);
    }
}
