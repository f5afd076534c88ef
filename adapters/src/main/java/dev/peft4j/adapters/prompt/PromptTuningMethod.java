package dev.peft4j.adapters.prompt;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.typesafe.config.Config;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Module;
import dev.peft4j.api.nn.Parameter;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.text.TextTokenizer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * {@code method = prompt-tuning} (Lester et al., 2021; HF PEFT's {@code PROMPT_TUNING}): P trainable input
 * embeddings placed before the input's tokens; the model is frozen. Trainable: {@code P * hidden}
 * (all-MiniLM-L6-v2, P = 20: 7,680). {@code init = text} starts them from the token embeddings of
 * {@code init-text} (tokenised with special tokens, repeated to P tokens, as PEFT does; a text longer than P
 * tokens is an error rather than PEFT's silent truncation).
 */
public final class PromptTuningMethod implements AdapterMethodFactory<PromptTuningConfig> {
    public static final String NAME = "prompt-tuning";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "prompt tuning: trainable virtual token embeddings before the input (HF PEFT PROMPT_TUNING)";
    }

    @Override
    public PromptTuningConfig parseConfig(Config section) {
        return PromptTuningConfig.from(section);
    }

    @Override
    public PromptLearningModel apply(Module root, PromptTuningConfig config, PluginContext context) {
        requireNonNull(root, "root is null");
        requireNonNull(config, "config is null");
        TransformerModel model = requireNonNull(context, "context is null").requireModel(NAME);
        TextTokenizer tokenizer = null;
        if (config.init().equals("text")) {
            tokenizer = context.tokenizer().orElseThrow(() -> new Peft4jException("method.init = text needs the model's tokenizer"
                    + " (tokenizer.json), and this model has none; use init = random"));
        }
        PromptLearningModel adaptation = apply(model, root, config, tokenizer, context.seed());
        context.logger().info("{}: {} virtual tokens ({} init), {} trainable parameters", NAME, config.numVirtualTokens(), config.init(),
                adaptation.encoder().parameterCount());
        return adaptation;
    }

    /** Builds and attaches the prompt embedding; nothing changes on error. */
    static PromptLearningModel apply(TransformerModel model, Module root, PromptTuningConfig config, TextTokenizer tokenizer, long seed) {
        long hidden = model.attentionShape().hidden();
        long[] initIds = config.init().equals("text") ? initTokenIds(config, requireNonNull(tokenizer, "tokenizer is null")) : null;
        NDArray words = initIds == null ? null : wordEmbeddings(model);
        PromptEmbedding encoder = new PromptEmbedding(model.manager(), config.numVirtualTokens(), hidden);
        Parameter weight = encoder.child("embedding").parameter("weight");
        if (initIds == null) {
            Init.normal(weight, new Random(seed), model.manager());
        } else {
            try (NDManager temp = model.manager().newSubManager()) {
                NDArray rows = words.get(temp.create(initIds)).stopGradient(); // [P, hidden], a copy
                NDArray copy = rows.duplicate();
                copy.attach(model.manager());
                weight.setValue(copy);
            }
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("prompt_tuning_init", config.init().equals("text") ? "TEXT" : "RANDOM");
        fields.put("prompt_tuning_init_text", config.init().equals("text") ? config.initText() : null);
        fields.put("tokenizer_name_or_path", null);
        fields.put("tokenizer_kwargs", null);
        try {
            return PromptLearningModel.attach(PromptLearningModel.Kind.PROMPT_TUNING, model, root, encoder, config.numVirtualTokens(),
                    PeftPromptFiles.peftConfig(PromptLearningModel.Kind.PROMPT_TUNING, model, config.numVirtualTokens(), fields));
        } catch (RuntimeException e) {
            weight.value().close();
            throw e;
        }
    }

    /** PEFT's rule: the text's ids (special tokens included) repeated to P; more than P tokens is an error here. */
    static long[] initTokenIds(PromptTuningConfig config, TextTokenizer tokenizer) {
        return initTokenIds(config.initText(), config.numVirtualTokens(), tokenizer);
    }

    static long[] initTokenIds(String text, int p, TextTokenizer tokenizer) {
        long[] ids = tokenizer.encode(text, Integer.MAX_VALUE).ids();
        if (ids.length == 0) {
            throw new Peft4jException("method.init-text '" + text + "' has no tokens");
        }
        if (ids.length > p) {
            throw new Peft4jException("method.init-text is " + ids.length + " tokens long (special tokens included), more than"
                    + " num-virtual-tokens = " + p + "; shorten the text or raise num-virtual-tokens");
        }
        long[] out = new long[p];
        for (int i = 0; i < p; i++) {
            out[i] = ids[i % ids.length];
        }
        return out;
    }

    private static NDArray wordEmbeddings(TransformerModel model) {
        String path = model.inputEmbeddingsPath().orElseThrow(() -> new Peft4jException(
                "prompt-tuning init = text needs the model's token embedding, and " + model.getClass().getSimpleName() + " does not name it"));
        return model.module().find(path).parameter("weight").value();
    }
}
