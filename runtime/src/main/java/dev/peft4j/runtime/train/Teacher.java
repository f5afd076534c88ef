package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import dev.peft4j.api.model.ModelInput;
import dev.peft4j.api.model.ModelOutput;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.ForwardContext;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.models.bert.BertModel;

/**
 * The frozen teacher of a distillation run: a backbone and, when it has one, its task head. Every
 * parameter is frozen when the teacher is made (so its forward records no graph, even inside the
 * student's gradient collector), and it always runs in inference mode (no dropout).
 *
 * @param backbone the teacher's model
 * @param head its task head, or null for a teacher used only for hidden states
 * @param source where it came from, for messages ({@code teacher.run = runs/x}, {@code teacher.source = ...})
 */
public record Teacher(TransformerModel backbone, TaskHead head, String source) {
    public Teacher {
        requireNonNull(backbone, "backbone is null");
        requireNonNull(source, "source is null");
        backbone.module().setTrainable(false);
        if (head != null) {
            head.modules().values().forEach(m -> m.setTrainable(false));
        }
    }

    /** The teacher's outputs on the student's batch, in the step's manager; hidden states when asked for. */
    public Objective.Outputs outputs(ModelInput input, boolean hiddenStates, ForwardContext studentContext) {
        ForwardContext context = ForwardContext.inference(studentContext.manager());
        if (hiddenStates) {
            context.setAttribute(BertModel.OUTPUT_HIDDEN_STATES, true);
        }
        ModelOutput output = backbone.forward(input, context);
        NDArray logits = head == null ? null : head.forward(output, input, context);
        return new Objective.Outputs(output, logits);
    }
}
