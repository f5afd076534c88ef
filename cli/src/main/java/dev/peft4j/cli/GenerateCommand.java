package dev.peft4j.cli;

import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.models.HfModelDirectory;
import dev.peft4j.models.Models;
import dev.peft4j.models.generation.GenerationConfig;
import dev.peft4j.models.generation.GenerationResult;
import dev.peft4j.models.generation.Generator;
import dev.peft4j.models.tokenizer.HfTextTokenizer;
import dev.peft4j.adapters.prompt.PeftPromptFiles;
import dev.peft4j.lora.LoraModel;
import dev.peft4j.lora.PeftAdapterConfig;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code peft4j generate MODEL --prompt TEXT --max-new-tokens N}: text generation with a causal LM
 * from an HF model directory. Greedy unless a sampling option is given; an empty prompt starts
 * from BOS alone. Prints the generated text (and first the token ids with {@code --ids}, one line,
 * space separated: the layout of llama2.c golden files). Stops at the config's
 * {@code eos_token_id} and at any {@code --stop-token-id}. {@code --adapter DIR} applies a PEFT adapter
 * first: LoRA (merged), prefix or prompt tuning. Errors (a prompt longer than the context
 * window, {@code --max-new-tokens 0}, no BOS for an empty prompt) are {@link Peft4jException}s,
 * reported by {@link Peft4jCli}'s handler with exit code 1.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text with a causal language model (Llama family, GPT-2) from an HF model directory.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions options;

    @Option(names = "--prompt", defaultValue = "", description = "Prompt text; empty (default) means BOS only.")
    String prompt;

    @Option(names = "--max-new-tokens", defaultValue = "128", description = "Tokens to generate (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--temperature", description = "Sampling temperature; 0 is greedy. Default: greedy, or 1.0 when --top-k/--top-p is given.")
    Float temperature;

    @Option(names = "--top-k", description = "Sample from the K most likely tokens only.")
    Integer topK;

    @Option(names = "--top-p", description = "Sample from the smallest set of tokens whose probability reaches P.")
    Float topP;

    @Option(names = "--seed", defaultValue = "0", description = "Random seed for sampling (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop-token-id", split = ",", description = "Extra token ids that end generation (the config's eos_token_id always does).")
    List<Long> stopTokenIds = List.of();

    @Option(names = "--ids", description = "Also print the generated token ids (first line).")
    boolean printIds;

    @Option(names = "--adapter", paramLabel = "DIR",
            description = "A PEFT adapter directory (adapter_config.json + adapter_model.safetensors, e.g. a run's adapter/): "
                    + "LoRA (merged before generating), prefix tuning or prompt tuning.")
    Path adapter;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        GenerationConfig config = generationConfig();
        Path directory = options.directory();
        try (TransformerModel lm = Models.load(directory, options.device());
                HfTextTokenizer tokenizer = HfModelDirectory.open(directory).tokenizer()) {
            if (adapter != null) {
                applyAdapter(lm, adapter);
            }
            Generator generator = new Generator(lm);
            long[] promptIds = promptIds(lm.config(), tokenizer, generator.contextWindow());
            Set<Long> stops = new LinkedHashSet<>(stopTokenIds);
            stops.addAll(eosIds(lm.config()));
            GenerationResult result = generator.generate(promptIds, config.withStopTokenIds(stops));
            if (printIds) {
                out.println(Arrays.stream(result.tokens()).mapToObj(Long::toString).collect(Collectors.joining(" ")));
            }
            out.println(tokenizer.decode(result.tokens(), true));
            out.flush();
            return 0;
        }
    }

    /**
     * Loads the PEFT adapter in {@code dir} onto the model. LoRA (its config picks the modules; names and
     * shapes are checked first) is merged into the base weights, so generation runs at the base speed; prefix
     * and prompt tuning ({@code peft_type} {@code PREFIX_TUNING}, {@code PROMPT_TUNING}) add their virtual tokens
     * to every forward pass (the prefix enters the KV cache once).
     */
    static void applyAdapter(TransformerModel lm, Path dir) {
        if (!Files.isRegularFile(dir.resolve(PeftAdapterConfig.CONFIG_FILE))) {
            throw new Peft4jException("--adapter " + dir + ": no " + PeftAdapterConfig.CONFIG_FILE
                    + " there; expected a PEFT adapter directory (LoRA, prefix or prompt tuning; a training run writes one to <run>/adapter)");
        }
        if (PeftPromptFiles.isPromptLearning(dir)) {
            PeftPromptFiles.load(lm, lm.module(), dir, new SafetensorsTensorFiles(), 0);
            return;
        }
        String modelType = lm.config().has("model_type") ? lm.config().modelType() : null;
        LoraModel lora = LoraModel.fromPretrained(lm.module(), modelType, dir, new SafetensorsTensorFiles(), "default");
        lora.merge();
    }

    GenerationConfig generationConfig() {
        boolean sampling = (temperature != null && temperature > 0) || topK != null || topP != null;
        GenerationConfig config = GenerationConfig.greedy(maxNewTokens);
        if (temperature != null && temperature < 0) {
            throw new Peft4jException("--temperature is " + temperature + ", expected 0 (greedy) or a positive number");
        }
        if (!sampling) {
            return config;
        }
        float t = temperature == null || temperature == 0 ? 1f : temperature;
        return config.withSampling(t, topK == null ? 0 : topK, topP == null ? 1f : topP, seed);
    }

    /** BOS alone for an empty prompt; else the tokenizer's encoding (its template adds BOS where the model uses one). */
    private long[] promptIds(ModelConfig config, HfTextTokenizer tokenizer, int window) {
        if (prompt.isEmpty()) {
            if (!config.has("bos_token_id")) {
                throw new Peft4jException(config.source() + ": no bos_token_id, so an empty prompt cannot start generation; pass --prompt");
            }
            long bos = config.integer("bos_token_id");
            if (bos < 0 || bos >= tokenizer.vocabSize()) {
                throw new Peft4jException(config.source() + ": bos_token_id " + bos + " is not in the tokenizer's vocabulary ("
                        + tokenizer.vocabSize() + " tokens, " + tokenizer.file() + ")");
            }
            return new long[] {bos};
        }
        // Encoded up to the window: a prompt that fills it is reported below, never silently cut and run.
        long[] ids = tokenizer.encode(prompt, window).ids();
        if (ids.length == 0) {
            throw new Peft4jException("the prompt \"" + prompt + "\" encodes to no tokens");
        }
        if (ids.length >= window) {
            // Truncated at the window, so the count is a lower bound.
            throw new Peft4jException("the prompt encodes to at least " + ids.length + " tokens but the context window is " + window
                    + " positions; it must be shorter to generate anything");
        }
        return ids;
    }

    private static Set<Long> eosIds(ModelConfig config) {
        Object eos = config.optional("eos_token_id").orElse(null);
        Set<Long> ids = new LinkedHashSet<>();
        if (eos instanceof Number n) {
            ids.add(n.longValue());
        } else if (eos instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Number n) {
                    ids.add(n.longValue());
                }
            }
        }
        return ids;
    }
}
