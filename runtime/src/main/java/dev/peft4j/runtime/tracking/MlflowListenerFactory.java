package dev.peft4j.runtime.tracking;

import com.typesafe.config.Config;
import dev.peft4j.api.spi.PluginContext;
import dev.peft4j.api.spi.RunListener;
import dev.peft4j.api.spi.RunListenerFactory;

/** {@code tracking.mlflow}: records runs in an MLflow tracking server through its REST API. */
final class MlflowListenerFactory implements RunListenerFactory<MlflowConfig> {
    @Override
    public String name() {
        return "mlflow";
    }

    @Override
    public String description() {
        return "records the run (params, metrics per step, final eval, report and adapter) in an MLflow tracking server";
    }

    @Override
    public MlflowConfig parseConfig(Config section) {
        return MlflowConfig.from(section);
    }

    @Override
    public RunListener create(MlflowConfig config, PluginContext context) {
        return new MlflowListener(config);
    }
}
