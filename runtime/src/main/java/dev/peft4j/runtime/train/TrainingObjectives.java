package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.spi.Objective.Need;
import dev.peft4j.models.bert.BertModel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The run's configured objectives with their weights, and the teacher they read. The training loss is
 * {@code taskLoss + sum(weight_i * loss_i)}; an objective that {@link Objective#includesTaskLoss() includes
 * the task loss} replaces the first term. Everything an objective cannot get (a teacher, the teacher's logits)
 * is refused when this is built, before any training.
 */
public final class TrainingObjectives {
    /**
     * One configured objective.
     *
     * @param path its config path ({@code objectives[0]})
     * @param name its registered name
     * @param weight its factor in the sum, >= 0
     */
    public record Weighted(String path, String name, Objective objective, float weight) {
        public Weighted {
            requireNonNull(path, "path is null");
            requireNonNull(name, "name is null");
            requireNonNull(objective, "objective is null");
        }
    }

    private static final TrainingObjectives NONE = new TrainingObjectives(List.of(), null);

    private final List<Weighted> objectives;
    private final Teacher teacher;
    private final boolean hiddenStates;
    private final boolean attentions;
    private final boolean taskLossIncluded;
    private final TeacherCache cache;

    private TrainingObjectives(List<Weighted> objectives, Teacher teacher) {
        this(objectives, teacher, null);
    }

    private TrainingObjectives(List<Weighted> objectives, Teacher teacher, TeacherCache cache) {
        this.objectives = List.copyOf(objectives);
        this.teacher = teacher;
        this.cache = cache;
        this.hiddenStates = objectives.stream().anyMatch(o -> o.objective().needs().contains(Need.HIDDEN_STATES));
        this.attentions = objectives.stream().anyMatch(o -> o.objective().needs().contains(Need.ATTENTIONS));
        this.taskLossIncluded = objectives.stream().anyMatch(o -> o.objective().includesTaskLoss());
    }

    public static TrainingObjectives none() {
        return NONE;
    }

    /** Checks what each objective needs against what the run has; {@code teacher} may be null. */
    public static TrainingObjectives of(List<Weighted> objectives, Teacher teacher) {
        List<String> problems = new ArrayList<>();
        List<String> includers = new ArrayList<>();
        for (Weighted w : objectives) {
            String who = w.path() + " (" + w.name() + ")";
            if (w.objective().needs().contains(Need.TEACHER) && teacher == null) {
                problems.add(who + " needs a teacher, but the experiment has none: set teacher.run (a peft4j run directory) or teacher.source");
            }
            if (w.objective().needs().contains(Need.TEACHER_LOGITS) && teacher != null && !teacher.hasLogits()) {
                problems.add(who + " needs the teacher's logits, but " + teacher.source() + " has no head (use teacher.run, a run with a head,"
                        + " or a causal-LM teacher)");
            }
            if (w.objective().includesTaskLoss()) {
                includers.add(who);
            }
        }
        if (includers.size() > 1) {
            problems.add("objectives " + includers + " each include the task loss (alpha-mixed); at most one may, or the task loss would count twice");
        }
        if (!problems.isEmpty()) {
            throw new Peft4jException(String.join("; ", problems));
        }
        return new TrainingObjectives(objectives, teacher);
    }

    /**
     * The same objectives reading the teacher's logits from {@code cache} instead of running the teacher;
     * refused when an objective needs more than the logits (hidden states).
     */
    public TrainingObjectives withCache(TeacherCache cache) {
        requireNonNull(cache, "cache is null");
        List<String> problems = new ArrayList<>();
        for (Weighted w : objectives) {
            if (w.objective().needs().contains(Need.HIDDEN_STATES) || w.objective().needs().contains(Need.ATTENTIONS)) {
                problems.add(w.path() + " (" + w.name() + ") needs the teacher's " + (w.objective().needs().contains(Need.HIDDEN_STATES)
                        ? "hidden states" : "attention maps") + ", but teacher.cache = true keeps only its logits; set teacher.cache = false");
            }
        }
        if (!problems.isEmpty()) {
            throw new Peft4jException(String.join("; ", problems));
        }
        return new TrainingObjectives(objectives, teacher, cache);
    }

    public Optional<TeacherCache> cache() {
        return Optional.ofNullable(cache);
    }

    /** Whether a teacher has to run (or be read from the cache) for these objectives. */
    public boolean needsTeacher() {
        return objectives.stream().anyMatch(o -> o.objective().needs().contains(Need.TEACHER));
    }

    public boolean isEmpty() {
        return objectives.isEmpty();
    }

    public List<Weighted> objectives() {
        return objectives;
    }

    public Optional<Teacher> teacher() {
        return Optional.ofNullable(teacher);
    }

    /** The objectives' own trainable parameters, named {@code objectives.<index>.<module>.<parameter>}. */
    public Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (int i = 0; i < objectives.size(); i++) {
            for (Map.Entry<String, Module> m : objectives.get(i).objective().modules().entrySet()) {
                String prefix = "objectives." + i + "." + m.getKey() + ".";
                m.getValue().trainableParameters().forEach((k, p) -> out.put(prefix + k, p));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * The training loss of one micro-batch: the student's forward (with hidden states when an objective
     * needs them), the head's loss, the teacher's forward on the same input, and the weighted objectives.
     */
    public NDArray loss(TaskModel student, ModelInput input, NDArray labels, ForwardContext context) {
        return loss(student, input, labels, null, context);
    }

    /** As above; {@code batch} (may be null without a cache) gives the example indices that the teacher cache is keyed by. */
    public NDArray loss(TaskModel student, ModelInput input, NDArray labels, dev.peft4j.runtime.data.Batch batch, ForwardContext context) {
        if (hiddenStates) {
            context.setAttribute(BertModel.OUTPUT_HIDDEN_STATES, true);
        }
        dev.peft4j.api.model.AttentionCapture capture = attentions ? new dev.peft4j.api.model.AttentionCapture() : null;
        if (capture != null) {
            context.setAttribute(dev.peft4j.api.model.AttentionCapture.KEY, capture);
        }
        ModelOutput output = student.backbone().forward(input, context);
        if (capture != null) {
            context.setAttribute(dev.peft4j.api.model.AttentionCapture.KEY, null);
        }
        NDArray logits = student.head().forward(output, input, context);
        NDArray taskLoss = student.head().loss(logits, labels, context);
        if (objectives.isEmpty()) {
            return taskLoss;
        }
        Objective.Outputs teacherOutputs;
        if (cache != null) {
            if (batch == null) {
                throw new IllegalStateException("the teacher cache is keyed by example index: call with the batch");
            }
            teacherOutputs = new Objective.Outputs(null, cache.logits(batch, context.manager()));
        } else {
            teacherOutputs = teacher == null || !needsTeacher() ? null : teacher.outputs(teacher.trainingInput(batch, input, context.manager()), hiddenStates, attentions, context);
        }
        Objective.Step step = new Objective.Step(new Objective.Outputs(output, logits, capture == null ? null : capture.maps()), teacherOutputs,
                taskLoss, input, labels);
        NDArray total = taskLossIncluded ? null : taskLoss;
        for (Weighted w : objectives) {
            NDArray loss = w.objective().loss(step, context);
            if (loss.getShape().dimension() != 0) {
                throw new Peft4jException(w.path() + " (" + w.name() + ") returned a loss of shape " + loss.getShape() + ", expected a 0-d tensor");
            }
            NDArray weighted = w.weight() == 1f ? loss : loss.mul(context.scalar(w.weight()));
            total = total == null ? weighted : total.add(weighted);
        }
        return total;
    }
}
