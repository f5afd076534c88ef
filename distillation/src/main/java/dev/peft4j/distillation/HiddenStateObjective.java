package dev.peft4j.distillation;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.spi.PluginContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Hidden-state matching (TinyBERT's MSE, DistilBERT's cosine): for each pair of the layer map, the loss
 * between the student's hidden state (through a learned {@code projection} when the hidden sizes differ)
 * and the teacher's, over the real tokens; the pairs' mean. Teacher and student must tokenise alike
 * (the same positions are compared).
 */
final class HiddenStateObjective implements Objective {
    private final HiddenStateConfig config;
    private final List<int[]> pairs;
    private final Linear projection;

    HiddenStateObjective(HiddenStateConfig config, List<int[]> pairs, Linear projection) {
        this.config = requireNonNull(config, "config is null");
        this.pairs = List.copyOf(pairs);
        this.projection = projection;
    }

    /** Checks the layer map against both models and makes the projection; nothing is created if a check fails. */
    static HiddenStateObjective create(HiddenStateConfig config, PluginContext context) {
        TransformerModel student = context.requireModel("hidden-state");
        TransformerModel teacher = context.teacher().orElseThrow(() -> new Peft4jException(
                "hidden-state needs a teacher: set the experiment's teacher section"));
        int studentLayers = layers(student.config());
        int teacherLayers = layers(teacher.config());
        List<Integer> s = config.studentLayers().isEmpty() ? List.of(studentLayers) : config.studentLayers();
        List<Integer> t = config.teacherLayers().isEmpty() ? List.of(teacherLayers) : config.teacherLayers();
        List<String> problems = new ArrayList<>();
        check("student-layers", s, studentLayers, "student", problems);
        check("teacher-layers", t, teacherLayers, "teacher", problems);
        int studentHidden = hiddenSize(student.config());
        int teacherHidden = hiddenSize(teacher.config());
        if (studentHidden != teacherHidden && config.projection().equals("never")) {
            problems.add("projection is 'never' but the student's hidden size is " + studentHidden + " and the teacher's is " + teacherHidden
                    + "; expected auto or always");
        }
        if (!problems.isEmpty()) {
            throw new Peft4jException("hidden-state objective: " + String.join("; ", problems));
        }
        List<int[]> pairs = new ArrayList<>();
        for (int i = 0; i < s.size(); i++) {
            pairs.add(new int[] {s.get(i), t.get(i)});
        }
        boolean project = config.projection().equals("always") || (config.projection().equals("auto") && studentHidden != teacherHidden);
        Linear projection = project ? projection(student.manager(), studentHidden, teacherHidden, config.initializerRange(),
                context.seed() * 31 + "hidden-state".hashCode()) : null;
        return new HiddenStateObjective(config, pairs, projection);
    }

    private static void check(String key, List<Integer> layers, int count, String who, List<String> problems) {
        for (int layer : layers) {
            if (layer > count) {
                problems.add(key + " contains " + layer + ", but the " + who + " has " + count + " layers (hidden states 0.." + count
                        + ": 0 = embeddings, i = output of layer i)");
            }
        }
    }

    static int layers(ModelConfig config) {
        return config.has("num_hidden_layers") ? config.integer("num_hidden_layers") : config.integer("n_layer");
    }

    static int hiddenSize(ModelConfig config) {
        return config.has("hidden_size") ? config.integer("hidden_size") : config.integer("n_embd");
    }

    /** Weights N(0, range) from a seeded Java generator, moved into torch-owned memory; bias 0. */
    private static Linear projection(NDManager manager, int in, int out, float range, long seed) {
        Random random = new Random(seed);
        float[] w = new float[in * out];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (random.nextGaussian() * range);
        }
        NDArray javaBacked = manager.create(w, new Shape(out, in));
        NDArray weight = javaBacked.duplicate();
        javaBacked.close();
        return new Linear(weight, manager.zeros(new Shape(out)), false);
    }

    @Override
    public Set<Need> needs() {
        return Set.of(Need.TEACHER, Need.HIDDEN_STATES);
    }

    @Override
    public Map<String, Module> modules() {
        Map<String, Module> modules = new LinkedHashMap<>();
        if (projection != null) {
            modules.put("projection", projection);
        }
        return modules;
    }

    @Override
    public NDArray loss(Step step, ForwardContext context) {
        if (step.teacher() == null) {
            throw new Peft4jException("hidden-state needs the teacher's hidden states, but the step has no teacher");
        }
        List<NDArray> student = hiddenStates(step.student().backbone(), "student");
        List<NDArray> teacher = hiddenStates(step.teacher().backbone(), "teacher");
        NDArray total = null;
        for (int[] pair : pairs) {
            NDArray s = student.get(pair[0]);
            if (projection != null) {
                s = projection.forward(s, context);
            }
            NDArray mask = step.input().attentionMask();
            NDArray t = textPositions(teacher.get(pair[1]), mask);
            s = textPositions(s, mask);
            NDArray loss = config.loss().equals("cosine") ? DistillationLosses.maskedCosine(s, t, mask, context)
                    : DistillationLosses.maskedMse(s, t, mask, context);
            total = total == null ? loss : total.add(loss);
        }
        return total.div(context.scalar(pairs.size()));
    }

    /**
     * The text's positions of {@code hidden [batch, P + seq, hidden]}: prompt tuning puts {@code P} virtual
     * tokens before the text (as HF PEFT does), which the other model does not have; they are dropped.
     * Anything that is not longer than the mask is returned as it is (the loss checks the shapes).
     */
    static NDArray textPositions(NDArray hidden, NDArray mask) {
        long seq = mask.getShape().get(1);
        if (hidden.getShape().dimension() == 3 && hidden.getShape().get(1) > seq) {
            return hidden.get(":, " + (hidden.getShape().get(1) - seq) + ":, :");
        }
        return hidden;
    }

    private static List<NDArray> hiddenStates(ModelOutput output, String who) {
        if (output == null || output.hiddenStates().isEmpty()) {
            throw new Peft4jException("hidden-state needs the " + who + "'s hidden states, but its forward pass returned none");
        }
        return output.hiddenStates();
    }

    List<int[]> pairs() {
        return pairs;
    }
}
