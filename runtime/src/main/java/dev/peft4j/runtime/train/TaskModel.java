package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.ModuleType;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.TaskHead;
import java.util.Map;

/**
 * A backbone with a head, as one module tree named like HF's task models: the backbone under its
 * {@link TransformerModel#baseModelPrefix()} ({@code bert.encoder.layer.0...}) beside the head's
 * modules ({@code classifier.weight}); a decoder with the causal-LM head is its own tree
 * ({@code model.layers.0...}, {@code lm_head}). Adapter methods are applied to {@link #root()}; the trainer
 * trains every parameter of the tree marked trainable.
 */
public final class TaskModel {
    /** The task model's root: children are the backbone (by prefix) and the head's modules. */
    static final class Root extends Module {
        Root(String prefix, Module backbone, Map<String, Module> head) {
            super(ModuleType.MODEL);
            addChild(prefix, backbone);
            head.forEach(this::addChild);
        }

        /** A decoder's tree is already a task model: its children ({@code model}, {@code lm_head}) sit beside the head's. */
        Root(Module decoder, Map<String, Module> head) {
            super(ModuleType.MODEL);
            decoder.children().forEach(this::addChild);
            head.forEach(this::addChild);
        }

        @Override
        public NDList forward(NDList inputs, ForwardContext context) {
            throw new UnsupportedOperationException("call TaskModel.forward");
        }
    }

    private final TransformerModel backbone;
    private final TaskHead head;
    private final Module root;
    private TrainingObjectives objectives = TrainingObjectives.none();
    private dev.peft4j.api.spi.ParameterSchedule parameterSchedule = dev.peft4j.api.spi.ParameterSchedule.none();

    public TaskModel(TransformerModel backbone, TaskHead head) {
        this.backbone = requireNonNull(backbone, "backbone is null");
        this.head = requireNonNull(head, "head is null");
        // A decoder's tree is already HF's task model (LlamaForCausalLM: model.layers..., lm_head): a head that
        // adds no module (causal-lm) uses it as the root, so names (and PEFT keys) are exactly HF's.
        // A classification head on a decoder sits beside model/lm_head (model.layers..., classifier), as in HF's
        // LlamaForSequenceClassification; the children are shared, so adapters placed below them act on the decoder.
        if (backbone.isCausalLm()) {
            this.root = head.modules().isEmpty() ? backbone.module() : new Root(backbone.module(), head.modules());
        } else {
            this.root = new Root(backbone.baseModelPrefix(), backbone.module(), head.modules());
        }
        head.bind(root);
    }

    public TransformerModel backbone() {
        return backbone;
    }

    public TaskHead head() {
        return head;
    }

    public Module root() {
        return root;
    }

    /** The head's output (logits) for a batch. */
    public NDArray forward(ModelInput input, ForwardContext context) {
        ModelOutput out = backbone.forward(input, context);
        return head.forward(out, input, context);
    }

    /**
     * Trainable parameters by full name: the tree's, in tree order, then the objectives' own
     * ({@code objectives.0.projection.weight}).
     */
    public Map<String, Parameter> trainableParameters() {
        Map<String, Parameter> own = objectives.trainableParameters();
        if (own.isEmpty()) {
            return root.trainableParameters();
        }
        Map<String, Parameter> all = new java.util.LinkedHashMap<>(root.trainableParameters());
        all.putAll(own);
        return java.util.Collections.unmodifiableMap(all);
    }

    /** The method's learning-rate groups and unfreezing stages, which the trainer applies. */
    public dev.peft4j.api.spi.ParameterSchedule parameterSchedule() {
        return parameterSchedule;
    }

    /** Called by the composition root ({@code TrainableModelAssembly}) with the adaptation's schedule. */
    public void setParameterSchedule(dev.peft4j.api.spi.ParameterSchedule schedule) {
        this.parameterSchedule = java.util.Objects.requireNonNull(schedule, "schedule is null");
    }

    /** The training objectives beyond the head's loss (set once by the composition root). */
    public TrainingObjectives objectives() {
        return objectives;
    }

    /** Called by the composition root ({@code TrainableModelAssembly}) once the objectives are created. */
    public void setObjectives(TrainingObjectives objectives) {
        this.objectives = java.util.Objects.requireNonNull(objectives, "objectives is null");
    }

    /**
     * The loss the trainer minimises on one micro-batch: the head's loss plus each objective's, weighted
     * ({@link TrainingObjectives#loss}); just the head's loss when no objective is configured.
     */
    public NDArray trainingLoss(ModelInput input, NDArray labels, ForwardContext context) {
        return objectives.loss(this, input, labels, context);
    }

    /** As above for one of the trainer's batches, whose example indices key the teacher cache; arrays in the context's manager. */
    public NDArray trainingLoss(dev.peft4j.runtime.data.Batch batch, ForwardContext context) {
        return objectives.loss(this, batch.input(context.manager()), batch.labels(context.manager()), batch, context);
    }
}
