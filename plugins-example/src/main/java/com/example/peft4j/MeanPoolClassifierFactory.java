package com.example.peft4j;

import com.typesafe.config.Config;
import dev.peft4j.api.model.TransformerModel;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.TaskHead;
import dev.peft4j.api.spi.TaskHeadFactory;

/** A sequence classifier over the attention-masked mean of the last hidden state. */
public final class MeanPoolClassifierFactory implements TaskHeadFactory<MeanPoolClassifierConfig> {
    public static final String NAME = "mean-pool-classifier";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "masked mean pooling + dropout + Linear 'classifier', cross-entropy loss";
    }

    @Override
    public MeanPoolClassifierConfig parseConfig(Config section) {
        return MeanPoolClassifierConfig.from(section);
    }

    @Override
    public TaskHead create(TransformerModel backbone, MeanPoolClassifierConfig config, PluginContext context) {
        int hidden = backbone.config().integer("hidden_size");
        return new MeanPoolClassifierHead(backbone.manager(), hidden, config, context.seed());
    }
}
