package dev.peft4j.heads;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.peft4j.api.Peft4jException;
import dev.peft4j.api.model.ModelConfig;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.nn.Dropout;
import dev.peft4j.api.nn.Linear;
import dev.peft4j.api.nn.Module;
import java.util.LinkedHashMap;
import java.util.Map;

/** The {@code dropout} + {@code classifier} pair every built-in head has, under HF's names. */
final class ClassifierModules {
    final Dropout dropout;
    final Linear classifier;

    ClassifierModules(TransformerModel backbone, HeadConfig config, long seed, String headName) {
        int hidden = hiddenSize(backbone.config());
        if (config.numLabels() < 1) {
            throw new Peft4jException("head '" + headName + "': num-labels is " + config.numLabels()
                    + "; set head.num-labels, or let the host take it from the data's label vocabulary");
        }
        if (backbone.isCausalLm() && config.pooling() == Pooling.CLS && !headName.equals("token-classification")) {
            throw new Peft4jException("head '" + headName + "': pooling = cls reads the first token, which a decoder ("
                    + backbone.config().source() + ") computes before seeing the rest of the text; use pooling = last (or mean)");
        }
        NDManager manager = backbone.manager();
        this.dropout = new Dropout(config.dropout());
        // HF: classifier.weight ~ N(0, initializer_range), bias 0; weight [numLabels, hidden]
        this.classifier = new Linear(Initializers.normal(manager, new Shape(config.numLabels(), hidden), config.initializerRange(), seed),
                Initializers.zeros(manager, new Shape(config.numLabels())), false);
    }

    Map<String, Module> modules() {
        Map<String, Module> m = new LinkedHashMap<>();
        m.put("dropout", dropout);
        m.put("classifier", classifier);
        return m;
    }

    static int hiddenSize(ModelConfig config) {
        for (String key : new String[] {"hidden_size", "n_embd", "d_model"}) {
            if (config.has(key)) {
                return config.integer(key);
            }
        }
        throw new Peft4jException(config.source() + ": no hidden_size (or n_embd, d_model) in the model config; a head needs it");
    }
}
