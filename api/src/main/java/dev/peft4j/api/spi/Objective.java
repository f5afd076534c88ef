package dev.peft4j.api.spi;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import java.util.Map;
import java.util.Set;

/**
 * A loss computed from a student's (and optionally a teacher's) outputs, added by the host to the
 * task loss with the objective's configured {@code weight}:
 * {@code total = taskLoss + sum(weight_i * objective_i.loss(...))}, except that an objective which
 * {@link #includesTaskLoss() includes the task loss} (soft-target KD mixes it by {@code alpha})
 * replaces the host's own {@code taskLoss} term.
 */
public interface Objective {
    /** What the host must compute for this objective's {@link #loss}. */
    enum Need {
        /** A teacher model runs beside the student ({@link Step#teacher()} is set). */
        TEACHER,
        /** The teacher's logits ({@link Outputs#head()} of {@link Step#teacher()}): a teacher with a head, or a decoder's own. */
        TEACHER_LOGITS,
        /** Every layer's hidden state, of the student and (with {@link #TEACHER}) the teacher ({@link ModelOutput#hiddenStates()}). */
        HIDDEN_STATES,
        /**
         * Every attention layer's probabilities, of the student and (with {@link #TEACHER}) the teacher
         * ({@link Outputs#attentions()}, {@code [batch, heads, queries, keys]} by layer; see
         * {@link dev.peft4j.api.model.AttentionCapture}). Not available from a teacher cache.
         */
        ATTENTIONS
    }

    /** What this objective reads; the host computes only what some objective needs. */
    default Set<Need> needs() {
        return Set.of();
    }

    /**
     * Whether {@link #loss} already contains the task loss (soft-target KD returns
     * {@code alpha * KD + (1 - alpha) * taskLoss}); the host then does not add the task loss again.
     * At most one configured objective may.
     */
    default boolean includesTaskLoss() {
        return false;
    }

    /**
     * Trainable modules the objective owns (a projection from the student's hidden size to the
     * teacher's), by local name, in order. The host trains them with the model and saves them with
     * the run, under {@code objectives.<index>.<name>}.
     */
    default Map<String, Module> modules() {
        return Map.of();
    }

    /** The loss to minimise, a 0-d tensor in the step's graph. */
    NDArray loss(Step step, ForwardContext context);

    /**
     * A model's backbone output plus its head output (logits). For the teacher, {@code head} is null when
     * it has no head, and {@code backbone} is null when its logits come from a cache (objectives that need
     * hidden states are refused with a cache). {@code attentions}: each attention layer's probabilities when
     * an objective needs {@link Need#ATTENTIONS}, else empty.
     */
    record Outputs(ModelOutput backbone, NDArray head, java.util.List<NDArray> attentions) {
        public Outputs {
            attentions = attentions == null ? java.util.List.of() : java.util.List.copyOf(attentions);
        }

        /** Outputs without attention maps. */
        public Outputs(ModelOutput backbone, NDArray head) {
            this(backbone, head, null);
        }
    }

    /**
     * One micro-batch as an objective sees it.
     *
     * @param student the trained model's outputs
     * @param teacher the teacher's outputs on the same batch, or null when no objective needs a teacher
     * @param taskLoss the head's loss on the labels (0-d)
     * @param input the student's input (ids, attention mask)
     * @param labels the batch's labels as the head's loss reads them (causal LM: the ids with -100 on
     *     prompt and padding, not shifted)
     */
    record Step(Outputs student, Outputs teacher, NDArray taskLoss, ModelInput input, NDArray labels) {
        public Step {
            requireNonNull(student, "student is null");
            requireNonNull(taskLoss, "taskLoss is null");
            requireNonNull(input, "input is null");
        }
    }
}
