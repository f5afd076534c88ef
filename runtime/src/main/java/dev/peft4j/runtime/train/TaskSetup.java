package dev.peft4j.runtime.train;

import static java.util.Objects.requireNonNull;

import com.google.gson.Gson;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.Adaptation;
import dev.peft4j.api.spi.DatasetReader;
import dev.peft4j.api.spi.DatasetReader.Example;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.Objective;
import dev.peft4j.api.text.TextTokenizer;
import dev.peft4j.models.maven.MavenArtifactResolver;
import dev.peft4j.runtime.ModelLoader;
import dev.peft4j.runtime.TrainableModelAssembly;
import dev.peft4j.runtime.config.ConfiguredComponent;
import dev.peft4j.runtime.config.DataSettings;
import dev.peft4j.runtime.config.ValidatedExperiment;
import dev.peft4j.runtime.data.BadRows;
import dev.peft4j.runtime.data.DataException;
import dev.peft4j.runtime.data.Fields;
import dev.peft4j.runtime.data.LabelVocabulary;
import dev.peft4j.runtime.data.Sources;
import dev.peft4j.runtime.data.TaskKind;
import dev.peft4j.runtime.data.TokenizedDataset;
import dev.peft4j.runtime.plugin.PluginContexts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * Everything a run needs before its first step, built from a validated experiment: the loaded
 * backbone and tokenizer, the label vocabulary (from {@code data.labels}, the training data, or a
 * finished run's {@code labels.json}), the head with {@code num-labels} filled in from it, the adapter
 * method applied to the task model, and the tokenised splits (subsets and hold-out applied).
 */
public final class TaskSetup implements AutoCloseable {
    public static final String LABELS_FILE = "labels.json";

    private final ModelLoader.LoadedModel loaded;
    private final TextTokenizer tokenizer;
    private final TaskModel taskModel;
    private final Adaptation adaptation;
    private final TaskKind kind;
    private final LabelVocabulary vocabulary;
    private final TokenizedDataset train;
    private final TokenizedDataset eval;
    private final int maxLength;
    private Teacher teacher;
    private Map<String, BadRows> badRows = Map.of();

    private TaskSetup(ModelLoader.LoadedModel loaded, TextTokenizer tokenizer, TaskModel taskModel, Adaptation adaptation, TaskKind kind,
            LabelVocabulary vocabulary, TokenizedDataset train, TokenizedDataset eval, int maxLength) {
        this.loaded = loaded;
        this.tokenizer = tokenizer;
        this.taskModel = taskModel;
        this.adaptation = adaptation;
        this.kind = kind;
        this.vocabulary = vocabulary;
        this.train = train;
        this.eval = eval;
        this.maxLength = maxLength;
    }

    /**
     * @param savedLabels a finished run's label vocabulary (eval, predict), or empty when training
     * @param readTrain whether to read and tokenise the training split
     */
    public static TaskSetup build(ValidatedExperiment experiment, ModelLoader modelLoader, PluginContexts contexts, Path runDirectory,
            Optional<List<String>> savedLabels, boolean readTrain) {
        return build(experiment, modelLoader, contexts, runDirectory, savedLabels, readTrain, true);
    }

    /** As above; {@code readEval = false} skips the evaluation split too (predict). */
    public static TaskSetup build(ValidatedExperiment experiment, ModelLoader modelLoader, PluginContexts contexts, Path runDirectory,
            Optional<List<String>> savedLabels, boolean readTrain, boolean readEval) {
        return build(experiment, modelLoader, contexts, runDirectory, savedLabels, readTrain, readEval, null);
    }

    /**
     * As above, for training with a {@code teacher} (may be null), which the setup then owns and closes: its
     * label set and its tokenisation of the training texts are checked against the student's first.
     */
    public static TaskSetup build(ValidatedExperiment experiment, ModelLoader modelLoader, PluginContexts contexts, Path runDirectory,
            Optional<List<String>> savedLabels, boolean readTrain, boolean readEval, Teacher teacher) {
        requireNonNull(experiment, "experiment is null");
        ConfiguredComponent headComponent = experiment.head().orElseThrow(() -> new Peft4jException(experiment.source()
                + ": training needs a task head: set head.name (sequence-classification, regression, multi-label, token-classification, causal-lm, question-answering)"));
        TrainConfig trainConfig = experiment.settings(TrainConfig.class);
        DataSettings data = experiment.settings(DataSettings.class);
        int maxLength = experiment.model().maxLength();
        ModelLoader.LoadedModel loaded = modelLoader.load(experiment.model());
        try {
            TransformerModel backbone = loaded.model();
            TextTokenizer tokenizer = loaded.tokenizer().orElseThrow(() -> new Peft4jException("model.source '"
                    + experiment.model().source() + "' has no tokenizer.json; training needs one"));
            PluginContext context = contexts.create(backbone, tokenizer, backbone.manager().getDevice(), runDirectory, trainConfig.seed());

            Map<String, BadRows> badRows = new LinkedHashMap<>();
            List<Example> trainExamples = List.of();
            List<Example> evalExamples = List.of();
            Optional<ConfiguredComponent> trainSplit = Optional.ofNullable(experiment.datasets().get("train"));
            Optional<ConfiguredComponent> evalSplit = Optional.ofNullable(experiment.datasets().get("eval"));
            if (!readEval) {
                evalSplit = Optional.empty();
            }
            if (readTrain || (readEval && evalSplit.isEmpty())) {
                ConfiguredComponent split = trainSplit.orElseThrow(() -> new Peft4jException(experiment.source()
                        + ": data.train.path is not set; training needs a training split"));
                trainExamples = read(experiment, split, "data.train", context, badRows);
            }
            if (evalSplit.isPresent()) {
                evalExamples = read(experiment, evalSplit.get(), "data.eval", context, badRows);
            } else if (readEval && data.holdout() > 0) {
                List<Example> shuffled = shuffled(trainExamples, trainConfig.seed() ^ 0x5eedL);
                int held = Math.max(1, (int) Math.round(shuffled.size() * data.holdout()));
                if (held >= shuffled.size()) {
                    throw new DataException("data.holdout = " + data.holdout() + " leaves no training examples out of " + shuffled.size());
                }
                evalExamples = List.copyOf(shuffled.subList(shuffled.size() - held, shuffled.size()));
                trainExamples = List.copyOf(shuffled.subList(0, shuffled.size() - held));
            }
            trainExamples = limit(trainExamples, data.trainLimit(), trainConfig.seed());
            evalExamples = limit(evalExamples, data.evalLimit(), trainConfig.seed() + 1);

            boolean tokens = (trainExamples.isEmpty() ? evalExamples : trainExamples).stream().findFirst()
                    .map(e -> e.fields().containsKey(Fields.TOKENS)).orElse(false);
            List<Example> labelSource = trainExamples;
            List<String> labelNames0 = savedLabels.or(data::labels).orElseGet(() -> sortedLabels(labelSource,
                    tokens ? TaskKind.TOKEN_CLASSIFICATION : TaskKind.CLASSIFICATION));
            List<String> labelNames = labelNames0;
            boolean fixedLabels = savedLabels.isPresent() || data.labels().isPresent();

            // The head's label kind decides how labels are read; num-labels = 0 means "from the vocabulary".
            int configured = headComponent.section().hasPath("num-labels") ? headComponent.section().getInt("num-labels") : -1;
            ConfiguredComponent headConfig = configured == 0 && !labelNames.isEmpty() ? withNumLabels(headComponent, labelNames.size()) : headComponent;
            PluginContext headContext = contexts.forPlugin(context, headConfig.registration().plugin());
            TaskHead head = headConfig.createHead(backbone, headContext);
            TaskKind kind = kindOf(head, headConfig.name());
            if (kind == TaskKind.MULTI_LABEL && !fixedLabels) {
                List<String> split = sortedLabels(trainExamples, TaskKind.MULTI_LABEL);
                if (!split.equals(labelNames)) {
                    labelNames = split;
                    closeParameters(head);
                    headConfig = configured == 0 ? withNumLabels(headComponent, labelNames.size()) : headComponent;
                    head = headConfig.createHead(backbone, headContext);
                }
            }
            LabelVocabulary vocabulary = kind == TaskKind.REGRESSION || kind == TaskKind.CAUSAL_LM || kind == TaskKind.QUESTION_ANSWERING ? null
                    : LabelVocabulary.of(labelNames);
            if (vocabulary != null && !fixedLabels) {
                LabelVocabulary.requireOneSpellingPerNumber(labelNames);
            }
            if (vocabulary != null && head.numLabels() > 0 && head.numLabels() != vocabulary.size()) {
                throw new Peft4jException("head.num-labels is " + head.numLabels() + " but the label vocabulary has " + vocabulary.size()
                        + " labels " + abbreviate(vocabulary.labels()) + "; set head.num-labels = 0 to take it from the data");
            }

            boolean retokenise = false;
            if (teacher != null) {
                retokenise = !checkTeacher(teacher, vocabulary, trainExamples, tokenizer, maxLength, experiment.model().source(), kind);
            }
            TrainableModelAssembly assembly = TrainableModelAssembly.forModel(backbone, context, contexts).head(head).method(experiment.method());
            if (readTrain) {
                // objectives shape only training; eval and predict score the task alone
                assembly.objectives(experiment.objectives(), objectiveWeights(experiment), teacher);
            }
            TrainableModelAssembly.TrainableModel assembled = assembly.assemble();
            TaskModel taskModel = assembled.requireTaskModel();
            Adaptation adaptation = assembled.adaptation();

            TokenizedDataset train = trainExamples.isEmpty() ? null : encode(trainExamples, tokenizer, maxLength, kind, vocabulary, head, true);
            TokenizedDataset eval = evalExamples.isEmpty() ? null : encode(evalExamples, tokenizer, maxLength, kind, vocabulary, head, true);
            if (retokenise) {
                // label-level outputs only: the teacher reads the same examples as its own tokenizer encodes them
                for (Objective.Need need : List.of(Objective.Need.HIDDEN_STATES, Objective.Need.ATTENTIONS)) {
                    for (TrainingObjectives.Weighted w : taskModel.objectives().objectives()) {
                        if (w.objective().needs().contains(need)) {
                            throw new Peft4jException(w.path() + " (" + w.name() + ") compares the models token by token, but " + teacher.source()
                                    + " tokenises differently from model.source = " + experiment.model().source() + "; expected the same tokenizer"
                                    + " (only label-level objectives such as soft-target-kl work across tokenizers)");
                        }
                    }
                }
                TextTokenizer own = teacher.tokenizer().orElseThrow();
                if (train != null) {
                    teacher.readsOwnTokens(train, TokenizedDataset.encode(trainExamples, own, maxLength, kind, vocabulary, true), true);
                }
                if (eval != null) {
                    teacher.readsOwnTokens(eval, TokenizedDataset.encode(evalExamples, own, maxLength, kind, vocabulary, true), false);
                }
            }
            TaskSetup setup = new TaskSetup(loaded, tokenizer, taskModel, adaptation, kind, vocabulary, train, eval, maxLength);
            setup.teacher = teacher;
            setup.badRows = Map.copyOf(badRows);
            return setup;
        } catch (RuntimeException e) {
            loaded.close();
            if (teacher != null) {
                teacher.close();
            }
            throw e;
        }
    }

    private static TokenizedDataset encode(List<Example> examples, TextTokenizer tokenizer, int maxLength, TaskKind kind, LabelVocabulary vocabulary,
            TaskHead head, boolean requireLabels) {
        if (kind == TaskKind.QUESTION_ANSWERING) {
            TaskHead.SpanOptions options = head.spanOptions().orElseThrow(() -> new Peft4jException("head " + head.getClass().getName()
                    + " has label kind SPAN but no spanOptions()"));
            return TokenizedDataset.encodeSpans(examples, tokenizer, maxLength, options, requireLabels);
        }
        return TokenizedDataset.encode(examples, tokenizer, maxLength, kind, vocabulary, requireLabels);
    }

    /** Tokenises {@code examples} for this run's task (predict: {@code requireLabels = false}). */
    public TokenizedDataset encode(List<Example> examples, boolean requireLabels) {
        return encode(examples, tokenizer, maxLength, kind, vocabulary, taskModel.head(), requireLabels);
    }

    /** How many training texts the teacher's tokenizer must encode exactly as the student's does. */
    static final int TOKENIZER_PROBES = 256;

    /**
     * The teacher must have the same label set (for logits). It reads the student's batches when it gives
     * every probed text the same token ids (returns true). Otherwise (returns false) it re-tokenises the
     * texts itself, which only sequence-level tasks allow (classification, regression, multi-label: their
     * outputs are per example, not per token); other tasks need the same tokenizer.
     */
    static boolean checkTeacher(Teacher teacher, LabelVocabulary vocabulary, List<Example> examples, TextTokenizer tokenizer, int maxLength,
            String studentSource, TaskKind kind) {
        if (teacher.labels().isPresent() && vocabulary != null && !teacher.labels().get().equals(vocabulary.labels())) {
            boolean sameSet = new java.util.HashSet<>(teacher.labels().get()).equals(new java.util.HashSet<>(vocabulary.labels()));
            throw new Peft4jException(teacher.source() + " was trained with labels " + abbreviate(teacher.labels().get())
                    + " but this run's labels are " + abbreviate(vocabulary.labels()) + "; expected the same labels in the same class-id order"
                    + (sameSet ? " (set data.labels = " + teacher.labels().get() + ")" : ""));
        }
        TextTokenizer own = teacher.tokenizer().orElseThrow(() -> new Peft4jException(teacher.source()
                + " has no tokenizer.json, so peft4j cannot check that it reads the student's token ids; expected the same tokenizer as model.source"));
        int probes = 0;
        for (Example e : examples) {
            if (!(e.fields().get(Fields.TEXT) instanceof String text)) {
                continue;
            }
            long[] student = tokenizer.encode(text, maxLength).ids();
            long[] theirs = own.encode(text, maxLength).ids();
            if (!java.util.Arrays.equals(student, theirs)) {
                if (kind == TaskKind.CLASSIFICATION || kind == TaskKind.REGRESSION || kind == TaskKind.MULTI_LABEL) {
                    return false;
                }
                throw new Peft4jException(teacher.source() + " tokenises differently from model.source = " + studentSource + " (" + e.origin()
                        + ": student ids " + abbreviate(student) + ", teacher ids " + abbreviate(theirs) + "); a " + kind.name().toLowerCase(java.util.Locale.ROOT)
                        + " task compares the models token by token, so it needs the same tokenizer (only sequence-level tasks re-tokenise per model)");
            }
            if (++probes >= TOKENIZER_PROBES) {
                break;
            }
        }
        return true;
    }

    private static String abbreviate(long[] ids) {
        return java.util.Arrays.toString(ids.length <= 12 ? ids : java.util.Arrays.copyOf(ids, 12)).replace("]", ids.length <= 12 ? "]" : ", ...]");
    }

    /** The teacher this setup trains against, when it has one. */
    public Optional<Teacher> teacher() {
        return Optional.ofNullable(teacher);
    }

    /** Each objective's {@code weight} (default 1), in the order of {@link ValidatedExperiment#objectives()}. */
    static List<Float> objectiveWeights(ValidatedExperiment experiment) {
        List<Float> weights = new ArrayList<>();
        for (int i = 0; i < experiment.objectives().size(); i++) {
            Config element = experiment.config().getConfigList("objectives").get(i);
            weights.add(element.hasPath(dev.peft4j.runtime.config.ExperimentValidator.OBJECTIVE_WEIGHT)
                    ? (float) element.getDouble(dev.peft4j.runtime.config.ExperimentValidator.OBJECTIVE_WEIGHT) : 1f);
        }
        return weights;
    }

    static TaskKind kindOf(TaskHead head, String name) {
        return switch (head.labelKind()) {
            case CLASS_ID -> TaskKind.CLASSIFICATION;
            case VALUE -> TaskKind.REGRESSION;
            case MULTI_HOT -> TaskKind.MULTI_LABEL;
            case TOKEN_CLASS_IDS -> TaskKind.TOKEN_CLASSIFICATION;
            // the head predicts its own input: labels are the ids (-100 on prompt and padding)
            case NONE -> TaskKind.CAUSAL_LM;
            case SPAN -> TaskKind.QUESTION_ANSWERING;
        };
    }

    private static String abbreviate(List<String> labels) {
        return labels.size() <= 10 ? labels.toString() : labels.subList(0, 10) + "...";
    }

    static List<String> sortedLabels(List<Example> examples, TaskKind kind) {
        java.util.Set<String> seen = TokenizedDataset.labelsIn(examples, kind);
        // no labels at all (a causal LM's text): no vocabulary; a head that needs one reports it
        return seen.isEmpty() ? List.of() : LabelVocabulary.fromData(seen).labels();
    }

    private static List<Example> read(ValidatedExperiment experiment, ConfiguredComponent split, String path, PluginContext context,
            Map<String, BadRows> badRows) {
        String location = experiment.config().getString(path + ".path");
        DatasetReader reader = split.createDatasetReader(context);
        DatasetReader.Source source = Sources.of(location, null, coordinate -> MavenArtifactResolver.fromEnvironment().resolve(coordinate));
        BadRows bad = new BadRows(experiment.settings(DataSettings.class).badRows());
        try {
            List<Example> examples = bad.read(reader, source);
            badRows.put(path, bad);
            return examples;
        } catch (IOException e) {
            throw new DataException(source.name() + ": cannot read (" + path + ".path): " + e.getMessage(), e);
        }
    }

    static List<Example> shuffled(List<Example> examples, long seed) {
        List<Example> copy = new ArrayList<>(examples);
        Collections.shuffle(copy, new Random(seed));
        return copy;
    }

    static List<Example> limit(List<Example> examples, int limit, long seed) {
        if (limit <= 0 || examples.size() <= limit) {
            return examples;
        }
        return List.copyOf(shuffled(examples, seed).subList(0, limit));
    }

    /** Per split read ({@code data.train}, {@code data.eval}), the rows skipped under {@code data.bad-rows = skip}. */
    public Map<String, BadRows> badRows() {
        Map<String, BadRows> ordered = new LinkedHashMap<>();
        for (String split : List.of("data.train", "data.eval")) {
            if (badRows.containsKey(split)) {
                ordered.put(split, badRows.get(split));
            }
        }
        return ordered;
    }

    public TransformerModel backbone() {
        return loaded.model();
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    public TaskModel taskModel() {
        return taskModel;
    }

    public Adaptation adaptation() {
        return adaptation;
    }

    public TaskKind kind() {
        return kind;
    }

    public LabelVocabulary vocabulary() {
        return vocabulary;
    }

    public TokenizedDataset train() {
        return train;
    }

    public Optional<TokenizedDataset> eval() {
        return Optional.ofNullable(eval);
    }

    public int maxLength() {
        return maxLength;
    }

    public long padId() {
        return tokenizer.padTokenId();
    }

    /** Writes the label names (class-id order) so eval and predict use the same ids. */
    public void writeLabels(Path runDirectory) {
        if (vocabulary == null) {
            return;
        }
        try {
            Files.writeString(runDirectory.resolve(LABELS_FILE), new Gson().toJson(vocabulary.labels()) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Peft4jException("cannot write " + runDirectory.resolve(LABELS_FILE) + ": " + e.getMessage(), e);
        }
    }

    public static Optional<List<String>> readLabels(Path runDirectory) {
        Path file = runDirectory.resolve(LABELS_FILE);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Peft4jException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return Optional.of(parseLabels(text, file.toString()));
    }

    /** A {@code labels.json}: a non-empty JSON array of distinct, non-empty strings (class-id order); anything else names the file and entry. */
    static List<String> parseLabels(String text, String file) {
        String expected = "; expected a JSON array of the label names in class-id order, as train writes it (the run directory is damaged)";
        com.google.gson.JsonElement root;
        try {
            root = com.google.gson.JsonParser.parseString(text);
        } catch (com.google.gson.JsonParseException e) {
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            throw new Peft4jException(file + ": not valid JSON (" + cause.getMessage() + ")" + expected, e);
        }
        if (!root.isJsonArray() || root.getAsJsonArray().isEmpty()) {
            throw new Peft4jException(file + ": holds " + (text.isBlank() ? "nothing" : root.isJsonArray() ? "an empty array" : root.toString()) + expected);
        }
        List<String> labels = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        int i = 0;
        for (com.google.gson.JsonElement e : root.getAsJsonArray()) {
            if (!(e instanceof com.google.gson.JsonPrimitive p) || !p.isString() || p.getAsString().isEmpty()) {
                throw new Peft4jException(file + ": entry " + i + " is " + e + ", expected a non-empty string" + expected);
            }
            if (!seen.add(p.getAsString())) {
                throw new Peft4jException(file + ": label \"" + p.getAsString() + "\" appears twice (entry " + i + ")" + expected);
            }
            labels.add(p.getAsString());
            i++;
        }
        return List.copyOf(labels);
    }

    static ConfiguredComponent withNumLabels(ConfiguredComponent head, int numLabels) {
        Config section = head.section().withValue("num-labels", ConfigValueFactory.fromAnyRef(numLabels));
        Object parsed = head.registration().factory().parseConfig(section);
        return new ConfiguredComponent(head.path(), head.registration(), parsed, section);
    }

    static void closeParameters(TaskHead head) {
        head.modules().values().forEach(m -> m.namedParameters().values().forEach(p -> p.value().close()));
    }

    @Override
    public void close() {
        try {
            loaded.close();
        } finally {
            if (teacher != null) {
                teacher.close();
            }
        }
    }
}
