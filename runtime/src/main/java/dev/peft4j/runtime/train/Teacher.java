package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.models.bert.BertModel;
import java.util.List;
import java.util.Optional;

/**
 * The frozen teacher of a distillation run: a backbone and, when it has one, its task head. Every
 * parameter is frozen when the teacher is made (so its forward records no graph, even inside the
 * student's gradient collector), and it always runs in inference mode (no dropout), on the student's
 * batches.
 */
public final class Teacher implements AutoCloseable {
    private final TransformerModel backbone;
    private final TaskHead head;
    private final String source;
    private final List<String> labels;
    private final TextTokenizer tokenizer;
    private final TaskModel taskModel;
    private final AutoCloseable resources;

    /**
     * @param backbone the teacher's model
     * @param head its task head, or null (a teacher used for hidden states, or a decoder's own logits)
     * @param source where it came from, for messages ({@code teacher.run = runs/x})
     * @param labels its label names in class-id order, or null when it has none
     * @param tokenizer its own tokenizer, or null when it has none
     * @param resources closed with the teacher (its loaded model), or null
     */
    public Teacher(TransformerModel backbone, TaskHead head, String source, List<String> labels, TextTokenizer tokenizer, AutoCloseable resources) {
        this.backbone = requireNonNull(backbone, "backbone is null");
        this.head = head;
        this.source = requireNonNull(source, "source is null");
        this.labels = labels == null ? null : List.copyOf(labels);
        this.tokenizer = tokenizer;
        this.resources = resources;
        this.taskModel = head == null ? null : new TaskModel(backbone, head);
        backbone.module().setTrainable(false);
        if (head != null) {
            head.modules().values().forEach(m -> m.setTrainable(false));
        }
    }

    /** A teacher made in code (tests, embedders): no labels, no tokenizer to check, nothing to close. */
    public Teacher(TransformerModel backbone, TaskHead head, String source) {
        this(backbone, head, source, null, null, null);
    }

    public TransformerModel backbone() {
        return backbone;
    }

    public Optional<TaskHead> head() {
        return Optional.ofNullable(head);
    }

    public String source() {
        return source;
    }

    public Optional<List<String>> labels() {
        return Optional.ofNullable(labels);
    }

    public Optional<TextTokenizer> tokenizer() {
        return Optional.ofNullable(tokenizer);
    }

    /** Backbone and head as a task model, to evaluate the teacher like the student; empty without a head. */
    public Optional<TaskModel> taskModel() {
        return Optional.ofNullable(taskModel);
    }

    /** Whether {@link #outputs} carry logits: a head's, or a decoder's own {@code lm_head}'s. */
    public boolean hasLogits() {
        return head != null || backbone.isCausalLm();
    }

    /** The teacher's outputs on the student's batch, in the step's manager; hidden states when asked for. */
    public Objective.Outputs outputs(ModelInput input, boolean hiddenStates, ForwardContext studentContext) {
        ForwardContext context = ForwardContext.inference(studentContext.manager());
        if (hiddenStates) {
            context.setAttribute(BertModel.OUTPUT_HIDDEN_STATES, true);
        }
        ModelOutput output = backbone.forward(input, context);
        NDArray logits = head != null ? head.forward(output, input, context) : output.logits();
        return new Objective.Outputs(output, logits);
    }

    @Override
    public void close() {
        if (resources != null) {
            try {
                resources.close();
            } catch (Exception e) {
                throw new IllegalStateException("cannot close the teacher (" + source + "): " + e.getMessage(), e);
            }
        }
    }
}
