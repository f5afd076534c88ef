package dev.peft4j.models.bert;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.models.HfModelDirectory;
import dev.peft4j.models.safetensors.SafetensorsFile;
import dev.peft4j.models.safetensors.StateDictLoader;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a BERT-family checkpoint into {@link BertModel}, strictly. Task checkpoints
 * ({@code BertForMaskedLM}, {@code BertForPreTraining}, {@code BertForSequenceClassification}, ...)
 * put the backbone under {@code bert.}: that prefix is stripped. Their heads are not part of the
 * backbone and are skipped, by name, and logged: {@code cls.*} (MLM and next-sentence heads),
 * {@code classifier.*}, {@code qa_outputs.*}, and the {@code embeddings.position_ids} buffer of old
 * checkpoints. Any other tensor the model has no parameter for, a missing or a mis-shaped tensor
 * is an error that lists them all.
 */
public final class BertLoader {
    private static final Logger LOG = LoggerFactory.getLogger(BertLoader.class);

    /** Prefixes of tensors that belong to HF task heads, not to {@code BertModel}. */
    public static final List<String> KNOWN_HEAD_PREFIXES = List.of("cls.", "classifier.", "qa_outputs.");
    /** Non-parameter buffers some checkpoints carry. */
    public static final List<String> KNOWN_BUFFERS = List.of("embeddings.position_ids");

    private BertLoader() {}

    /** Builds the model the checkpoint describes (pooler if the file has one) and loads it. */
    public static BertModel load(HfModelDirectory directory, ModelConfig config, Device device) {
        BertConfig.from(config); // validate the config before touching the weights
        try (SafetensorsFile file = SafetensorsFile.open(directory.weightsFile())) {
            boolean prefixed = file.names().stream().anyMatch(n -> n.startsWith("bert."));
            Set<String> skipped = new LinkedHashSet<>();
            for (String name : file.names()) {
                String local = prefixed && name.startsWith("bert.") ? name.substring("bert.".length()) : name;
                if (KNOWN_BUFFERS.contains(local) || (!name.startsWith("bert.") && KNOWN_HEAD_PREFIXES.stream().anyMatch(name::startsWith))) {
                    skipped.add(name);
                }
            }
            if (!skipped.isEmpty()) {
                LOG.info("{}: skipping {} tensors that are not part of BertModel (task heads, buffers): {}", file.path(),
                        skipped.size(), skipped);
            }
            boolean withPooler = file.contains(prefixed ? "bert.pooler.dense.weight" : "pooler.dense.weight");
            BertModel model = BertModel.owning(config, NDManager.newBaseManager(device), withPooler);
            try {
                StateDictLoader.loadStrict(model.module(), file, prefixed ? Map.of("bert.", "") : Map.of(), Set.of(), skipped);
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
            return model;
        }
    }
}
