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
import dev.peft4j.runtime.data.Batch;
import dev.peft4j.runtime.data.EncodedExample;
import dev.peft4j.runtime.data.TokenizedDataset;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
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
    /** The teacher's own tokenisation of the student's datasets (by identity), when its tokenizer differs. */
    private final java.util.Map<TokenizedDataset, TokenizedDataset> ownTokens = new java.util.IdentityHashMap<>();
    private TokenizedDataset studentTrain;

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

    /**
     * Gives the teacher its own token ids for {@code studentData}'s examples ({@code own}, the same examples
     * in the same order, encoded by the teacher's tokenizer): a teacher with another tokenizer then reads
     * its own batches ({@link #input}) instead of the student's.
     */
    void readsOwnTokens(TokenizedDataset studentData, TokenizedDataset own, boolean training) {
        requireNonNull(studentData, "studentData is null");
        requireNonNull(own, "own is null");
        if (own.size() != studentData.size()) {
            throw new IllegalArgumentException("the teacher's tokenisation has " + own.size() + " examples, the student's " + studentData.size());
        }
        ownTokens.put(studentData, own);
        if (training) {
            studentTrain = studentData;
        }
    }

    /** The teacher's input for a training batch of the student (see {@link #input}); {@code batch} may be null only without re-tokenising. */
    public ModelInput trainingInput(Batch batch, ModelInput studentInput, NDManager manager) {
        if (!retokenises()) {
            return studentInput;
        }
        if (batch == null) {
            throw new IllegalStateException(source + " reads its own token ids by example index: call with the batch");
        }
        return input(batch, studentTrain, studentInput, manager);
    }

    /** The padding id of the teacher's batches: its own tokenizer's when it re-tokenises, else the student's. */
    public long padId(long studentPadId) {
        return retokenises() ? tokenizer.padTokenId() : studentPadId;
    }

    /** Whether this teacher reads its own token ids (another tokenizer than the student's). */
    public boolean retokenises() {
        return !ownTokens.isEmpty();
    }

    /** The data the teacher reads for the student's {@code studentData}: its own tokenisation, or the same data. */
    public TokenizedDataset data(TokenizedDataset studentData) {
        return ownTokens.getOrDefault(studentData, studentData);
    }

    /**
     * The teacher's input for the student's {@code batch} of {@code studentData}: the student's own input
     * when they share a tokenizer, else the same examples (by index) as the teacher tokenised them.
     */
    public ModelInput input(Batch batch, TokenizedDataset studentData, ModelInput studentInput, NDManager manager) {
        TokenizedDataset own = studentData == null ? null : ownTokens.get(studentData);
        if (own == null) {
            if (retokenises()) {
                throw new IllegalStateException(source + " tokenises differently, and the batch's data has no teacher tokenisation");
            }
            return studentInput;
        }
        List<EncodedExample> examples = new ArrayList<>(batch.size());
        int longest = 1;
        for (EncodedExample e : batch.examples()) {
            EncodedExample mine = own.get(e.index());
            examples.add(mine);
            longest = Math.max(longest, mine.length());
        }
        return new Batch(examples, longest, tokenizer.padTokenId(), batch.kind()).input(manager);
    }

    /** The teacher's outputs on the student's batch, in the step's manager; hidden states when asked for. */
    public Objective.Outputs outputs(ModelInput input, boolean hiddenStates, ForwardContext studentContext) {
        return outputs(input, hiddenStates, false, studentContext);
    }

    /** As above; with each attention layer's probabilities when {@code attentions}. */
    public Objective.Outputs outputs(ModelInput input, boolean hiddenStates, boolean attentions, ForwardContext studentContext) {
        ForwardContext context = ForwardContext.inference(studentContext.manager());
        if (hiddenStates) {
            context.setAttribute(BertModel.OUTPUT_HIDDEN_STATES, true);
        }
        dev.peft4j.api.model.AttentionCapture capture = attentions ? new dev.peft4j.api.model.AttentionCapture() : null;
        if (capture != null) {
            context.setAttribute(dev.peft4j.api.model.AttentionCapture.KEY, capture);
        }
        ModelOutput output = backbone.forward(input, context);
        NDArray logits = head != null ? head.forward(output, input, context) : output.logits();
        return new Objective.Outputs(output, logits, capture == null ? null : capture.maps());
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
