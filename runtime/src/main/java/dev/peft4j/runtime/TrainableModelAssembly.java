package dev.peft4j.runtime;

import static java.util.Objects.requireNonNull;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.runtime.config.ConfiguredComponent;
import dev.peft4j.runtime.plugin.ModuleSnapshot;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.runtime.plugin.PluginWatchdog;
import dev.peft4j.runtime.train.TaskModel;
import dev.peft4j.runtime.train.Teacher;
import dev.peft4j.runtime.train.TrainingObjectives;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The composition root: the one place that builds what trains. The CLI ({@code train}, {@code eval},
 * {@code predict}, dry runs), {@link Peft4j#adapt} and the experiment runners all go through it, so a
 * new step is added here once.
 *
 * <p>The steps, in this order (each is one private method of {@link #assemble()}):
 * <ol>
 *   <li>{@link #attachHead}: the backbone and the task head become one {@link TaskModel} whose root is
 *       named like HF's task model ({@code bert.…} beside {@code classifier}); without a head the root is
 *       the backbone's (or the bare module's) own tree;</li>
 *   <li>{@link #applyMethod}: the adapter method adapts that root in place (it freezes what it does not
 *       train) with the method's plugin context;</li>
 *   <li>{@link #makeHeadTrainable}: the head's modules are trained as well (PEFT's {@code modules_to_save}); the
 *       task model takes the adaptation's {@link dev.peft4j.api.spi.ParameterSchedule} (learning-rate groups,
 *       gradual unfreezing) for the trainer;</li>
 *   <li>{@link #attachObjectives}: each configured objective is created (with the teacher in its plugin
 *       context), what it needs is checked against what the run has, and the task model's training loss
 *       becomes the head's loss plus the weighted objectives ({@link TrainingObjectives}). Needs a head.</li>
 * </ol>
 *
 * <pre>{@code
 * TrainableModel model = TrainableModelAssembly.forModel(backbone, context, contexts)
 *         .head(head)          // optional
 *         .method(method)      // required
 *         .assemble();
 * }</pre>
 */
public final class TrainableModelAssembly {
    /**
     * What {@link #assemble()} built.
     *
     * @param backbone the pretrained model (empty when a bare module was adapted)
     * @param taskModel backbone plus head (empty without a head)
     * @param root the tree that trains: the task model's root, or the backbone's (bare) module
     * @param adaptation what the method did
     */
    public record TrainableModel(Optional<TransformerModel> backbone, Optional<TaskModel> taskModel, Module root, Adaptation adaptation) {
        public TrainableModel {
            requireNonNull(backbone, "backbone is null");
            requireNonNull(taskModel, "taskModel is null");
            requireNonNull(root, "root is null");
            requireNonNull(adaptation, "adaptation is null");
        }

        /** The task model; throws when the assembly had no head. */
        public TaskModel requireTaskModel() {
            return taskModel.orElseThrow(() -> new IllegalStateException("this model was assembled without a task head"));
        }
    }

    private final TransformerModel backbone;
    private final Module bareRoot;
    private final PluginContext context;
    private final PluginContexts contexts;
    private TaskHead head;
    private ConfiguredComponent method;
    private List<ConfiguredComponent> objectives = List.of();
    private List<Float> weights = List.of();
    private Teacher teacher;

    private TrainableModelAssembly(TransformerModel backbone, Module bareRoot, PluginContext context, PluginContexts contexts) {
        this.backbone = backbone;
        this.bareRoot = bareRoot;
        this.context = requireNonNull(context, "context is null");
        this.contexts = requireNonNull(contexts, "contexts is null");
    }

    /** Assembles around a loaded model; {@code context} is the run's context (the host gives each plugin its own logger). */
    public static TrainableModelAssembly forModel(TransformerModel backbone, PluginContext context, PluginContexts contexts) {
        return new TrainableModelAssembly(requireNonNull(backbone, "backbone is null"), null, context, contexts);
    }

    /** Assembles around a bare module tree (no config, no forward): only a method can be applied. */
    public static TrainableModelAssembly forModule(Module root, PluginContext context, PluginContexts contexts) {
        return new TrainableModelAssembly(null, requireNonNull(root, "root is null"), context, contexts);
    }

    /** The task head, already created (the trainer sizes it from the data first). */
    public TrainableModelAssembly head(TaskHead head) {
        requireNonNull(head, "head is null");
        if (backbone == null) {
            throw new IllegalStateException("a task head needs a TransformerModel, not a bare module");
        }
        this.head = head;
        return this;
    }

    /** The task head as configured; it is created with its plugin's context. */
    public TrainableModelAssembly head(ConfiguredComponent headComponent) {
        requireNonNull(headComponent, "headComponent is null");
        if (backbone == null) {
            throw new IllegalStateException("a task head needs a TransformerModel, not a bare module");
        }
        return head(headComponent.createHead(backbone, pluginContext(headComponent)));
    }

    /** The adapter method (required). */
    public TrainableModelAssembly method(ConfiguredComponent methodComponent) {
        this.method = requireNonNull(methodComponent, "methodComponent is null");
        return this;
    }

    /**
     * The training objectives beyond the head's loss, with their weights (same order); {@code teacher}
     * (may be null) is the frozen model that objectives needing one read.
     */
    public TrainableModelAssembly objectives(List<ConfiguredComponent> objectiveComponents, List<Float> objectiveWeights, Teacher teacher) {
        requireNonNull(objectiveComponents, "objectiveComponents is null");
        requireNonNull(objectiveWeights, "objectiveWeights is null");
        if (objectiveComponents.size() != objectiveWeights.size()) {
            throw new IllegalArgumentException(objectiveComponents.size() + " objectives but " + objectiveWeights.size() + " weights");
        }
        this.objectives = List.copyOf(objectiveComponents);
        this.weights = List.copyOf(objectiveWeights);
        this.teacher = teacher;
        return this;
    }

    /** Runs the steps; see the class comment. */
    public TrainableModel assemble() {
        if (method == null) {
            throw new IllegalStateException("no adapter method: call method(...) before assemble()");
        }
        Optional<TaskModel> taskModel = attachHead();
        Module root = taskModel.map(TaskModel::root).orElseGet(() -> backbone != null ? backbone.module() : bareRoot);
        Adaptation adaptation = applyMethod(root);
        taskModel.ifPresent(TrainableModelAssembly::makeHeadTrainable);
        taskModel.ifPresent(t -> t.setParameterSchedule(adaptation.parameterSchedule()));
        if (!objectives.isEmpty() || teacher != null) {
            attachObjectives(taskModel.orElseThrow(() -> new IllegalStateException("objectives need a task head")));
        }
        return new TrainableModel(Optional.ofNullable(backbone), taskModel, root, adaptation);
    }

    private Optional<TaskModel> attachHead() {
        return head == null ? Optional.empty() : Optional.of(new TaskModel(backbone, head));
    }

    /**
     * Runs the method's {@code apply} and checks what it returns: a throw (or a null adaptation, or a trainable set
     * that is not the tree's) is reported naming the method and the plugin's jar, and the tree is put back as it was
     * first ({@link ModuleSnapshot}), so nothing stays half-applied. A plugin that hangs is not cut off (plugin code
     * runs on the thread that owns the engine, and a Java thread cannot be stopped safely): after
     * {@link PluginWatchdog#warnAfter()} it is named on stderr, and a second Ctrl-C exits.
     */
    private Adaptation applyMethod(Module root) {
        String who = "method '" + method.name() + "' (" + method.path() + ") from " + method.registration().plugin().source();
        ModuleSnapshot before = ModuleSnapshot.of(root);
        Adaptation adaptation;
        try {
            adaptation = PluginWatchdog.during(who + " in apply", () -> method.applyMethod(root, pluginContext(method)));
        } catch (Peft4jException e) {
            before.restore();
            throw new Peft4jException(who + ": " + e.getMessage() + " (the model was left as it was)", e);
        } catch (RuntimeException | LinkageError e) {
            before.restore();
            throw new Peft4jException(who + " failed in apply: " + e + " (a plugin bug; the model was left as it was)", e);
        }
        String wrong = wrongTrainableSet(root, adaptation);
        if (wrong != null) {
            before.restore();
            throw new Peft4jException(who + " returned " + wrong + " (a plugin bug; the model was left as it was)");
        }
        return adaptation;
    }

    /**
     * What is wrong with the adaptation's trainable set, or null: it must name exactly the parameters of the tree that
     * are trainable after {@code apply}, under their tree names and as the same objects.
     */
    static String wrongTrainableSet(Module root, Adaptation adaptation) {
        if (adaptation == null) {
            return "no adaptation (null)";
        }
        Map<String, Parameter> declared;
        try {
            declared = adaptation.trainableParameters();
        } catch (RuntimeException e) {
            return "an adaptation whose trainableParameters() throws " + e;
        }
        if (declared == null) {
            return "an adaptation whose trainableParameters() is null";
        }
        Map<String, Parameter> tree = root.namedParameters();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : declared.entrySet()) {
            Parameter p = tree.get(e.getKey());
            if (p == null) {
                problems.add("'" + e.getKey() + "' is declared trainable but is not a parameter of the model");
            } else if (p != e.getValue()) {
                problems.add("'" + e.getKey() + "' is declared trainable but is another object than the model's parameter of that name");
            } else if (!p.trainable()) {
                problems.add("'" + e.getKey() + "' is declared trainable but is frozen");
            }
        }
        List<String> undeclared = root.trainableParameters().keySet().stream().filter(k -> !declared.containsKey(k)).toList();
        if (!undeclared.isEmpty()) {
            problems.add(undeclared.size() + " trainable parameter" + (undeclared.size() == 1 ? " is" : "s are") + " not declared "
                    + (undeclared.size() <= 3 ? undeclared : undeclared.subList(0, 3) + "...") + " (did apply forget to freeze the base model?)");
        }
        if (problems.isEmpty()) {
            return null;
        }
        return "a wrong trainable set: " + String.join("; ", problems.size() <= 3 ? problems : problems.subList(0, 3))
                + (problems.size() > 3 ? "; and " + (problems.size() - 3) + " more" : "");
    }

    private static void makeHeadTrainable(TaskModel taskModel) {
        taskModel.head().modules().values().forEach(m -> m.setTrainable(true));
    }

    private void attachObjectives(TaskModel taskModel) {
        PluginContext withTeacher = contexts.withTeacher(context, teacher == null ? null : teacher.backbone());
        List<TrainingObjectives.Weighted> created = new ArrayList<>();
        for (int i = 0; i < objectives.size(); i++) {
            ConfiguredComponent c = objectives.get(i);
            Objective objective;
            try {
                objective = c.createObjective(contexts.forPlugin(withTeacher, c.registration().plugin()));
            } catch (Peft4jException e) {
                throw new Peft4jException(c.path() + " (" + c.name() + "): " + e.getMessage(), e);
            }
            created.add(new TrainingObjectives.Weighted(c.path(), c.name(), objective, weights.get(i)));
        }
        taskModel.setObjectives(TrainingObjectives.of(created, teacher));
    }

    private PluginContext pluginContext(ConfiguredComponent component) {
        return contexts.forPlugin(context, component.registration().plugin());
    }
}
