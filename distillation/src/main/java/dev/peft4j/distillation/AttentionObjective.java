package dev.peft4j.distillation;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.spi.PluginContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Attention transfer (MiniLM's KL, TinyBERT's MSE): for each pair of the layer map, the loss between the
 * student's and the teacher's attention probabilities over the real tokens; the pairs' mean. Teacher and
 * student must tokenise alike and see the same positions (no prefix or prompt tuning on either).
 */
final class AttentionObjective implements Objective {
    private final AttentionConfig config;
    private final List<int[]> pairs;

    AttentionObjective(AttentionConfig config, List<int[]> pairs) {
        this.config = requireNonNull(config, "config is null");
        this.pairs = List.copyOf(pairs);
    }

    /** Checks the layer map against both models' layer counts; nothing is created if a check fails. */
    static AttentionObjective create(AttentionConfig config, PluginContext context) {
        TransformerModel student = context.requireModel("attention");
        TransformerModel teacher = context.teacher().orElseThrow(() -> new Peft4jException(
                "attention needs a teacher: set the experiment's teacher section"));
        int studentLayers = HiddenStateObjective.layers(student.config());
        int teacherLayers = HiddenStateObjective.layers(teacher.config());
        List<Integer> s = config.studentLayers().isEmpty() ? List.of(studentLayers - 1) : config.studentLayers();
        List<Integer> t = config.teacherLayers().isEmpty() ? List.of(teacherLayers - 1) : config.teacherLayers();
        List<String> problems = new ArrayList<>();
        check("student-layers", s, studentLayers, "student", problems);
        check("teacher-layers", t, teacherLayers, "teacher", problems);
        if (!problems.isEmpty()) {
            throw new Peft4jException("attention objective: " + String.join("; ", problems));
        }
        List<int[]> pairs = new ArrayList<>();
        for (int i = 0; i < s.size(); i++) {
            pairs.add(new int[] {s.get(i), t.get(i)});
        }
        return new AttentionObjective(config, pairs);
    }

    private static void check(String key, List<Integer> layers, int count, String who, List<String> problems) {
        for (int layer : layers) {
            if (layer >= count) {
                problems.add(key + " contains " + layer + ", but the " + who + " has " + count + " attention layers (0.." + (count - 1) + ")");
            }
        }
    }

    @Override
    public Set<Need> needs() {
        return Set.of(Need.TEACHER, Need.ATTENTIONS);
    }

    @Override
    public NDArray loss(Step step, ForwardContext context) {
        if (step.teacher() == null) {
            throw new Peft4jException("attention needs the teacher's attention maps, but the step has no teacher");
        }
        List<NDArray> student = maps(step.student().attentions(), "student");
        List<NDArray> teacher = maps(step.teacher().attentions(), "teacher");
        NDArray mask = step.input().attentionMask();
        NDArray total = null;
        for (int[] pair : pairs) {
            NDArray s = student.get(pair[0]);
            NDArray t = teacher.get(pair[1]);
            NDArray loss = config.loss().equals("kl") ? DistillationLosses.attentionKl(s, t, mask, context)
                    : DistillationLosses.attentionMse(s, t, mask, context);
            total = total == null ? loss : total.add(loss);
        }
        return total.div(context.scalar(pairs.size()));
    }

    private static List<NDArray> maps(List<NDArray> maps, String who) {
        if (maps == null || maps.isEmpty()) {
            throw new Peft4jException("attention needs the " + who + "'s attention maps, but its forward pass recorded none");
        }
        return maps;
    }

    List<int[]> pairs() {
        return pairs;
    }
}
