package dev.peft4j.runtime;

import static java.util.Objects.requireNonNull;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.Singleton;
import com.google.inject.TypeLiteral;
import com.google.inject.multibindings.MapBinder;
import com.google.inject.multibindings.Multibinder;
import com.typesafe.config.Config;
import dev.peft4j.api.spi.AdapterMethodFactory;
import dev.peft4j.api.spi.ComponentFactory;
import dev.peft4j.api.spi.DatasetReaderFactory;
import dev.peft4j.api.spi.ObjectiveFactory;
import dev.peft4j.api.spi.TaskHeadFactory;
import dev.peft4j.api.spi.TensorFiles;
import dev.peft4j.runtime.config.ExperimentValidator;
import dev.peft4j.runtime.config.ModelSettings;
import dev.peft4j.runtime.config.PluginSettings;
import dev.peft4j.runtime.config.RunSettings;
import dev.peft4j.runtime.config.SettingsSection;
import dev.peft4j.runtime.plugin.ComponentKind;
import dev.peft4j.runtime.plugin.PluginContexts;
import dev.peft4j.runtime.plugin.PluginRegistry;
import dev.peft4j.models.safetensors.SafetensorsTensorFiles;

/**
 * Wires the host: the plugin registry, every factory by registered name ({@code Map<String,
 * AdapterMethodFactory<?>>} etc.), the resolved defaults, the host-section readers, the tensor
 * files, the plugin contexts, the model loader and the experiment runner. Plugins never see Guice:
 * they get a {@link dev.peft4j.api.spi.PluginContext}. Another module (the trainer's, a test's)
 * replaces a binding with {@code Modules.override}, which {@link Peft4j.Builder#override} applies.
 */
public final class HostModule extends AbstractModule {
    private final PluginRegistry registry;

    public HostModule(PluginRegistry registry) {
        this.registry = requireNonNull(registry, "registry is null");
    }

    @Override
    protected void configure() {
        bind(PluginRegistry.class).toInstance(registry);
        bindFactories(ComponentKind.ADAPTER_METHOD, new TypeLiteral<AdapterMethodFactory<?>>() {});
        bindFactories(ComponentKind.TASK_HEAD, new TypeLiteral<TaskHeadFactory<?>>() {});
        bindFactories(ComponentKind.OBJECTIVE, new TypeLiteral<ObjectiveFactory<?>>() {});
        bindFactories(ComponentKind.DATASET_READER, new TypeLiteral<DatasetReaderFactory<?>>() {});
        bindFactories(ComponentKind.RUN_LISTENER, new TypeLiteral<dev.peft4j.api.spi.RunListenerFactory<?>>() {});

        Multibinder<SettingsSection<?>> sections = Multibinder.newSetBinder(binder(), new TypeLiteral<SettingsSection<?>>() {});
        sections.addBinding().toInstance(ModelSettings.SECTION);
        sections.addBinding().toInstance(RunSettings.SECTION);
        sections.addBinding().toInstance(dev.peft4j.runtime.config.MethodSettings.SECTION);
        sections.addBinding().toInstance(PluginSettings.SECTION);
        sections.addBinding().toInstance(dev.peft4j.runtime.train.TrainConfig.SECTION);
        sections.addBinding().toInstance(dev.peft4j.runtime.config.DataSettings.SECTION);
        sections.addBinding().toInstance(dev.peft4j.runtime.config.TeacherSettings.SECTION);

        bind(TensorFiles.class).to(SafetensorsTensorFiles.class).in(Singleton.class);
        bind(PluginContexts.class).in(Singleton.class);
        bind(ExperimentValidator.class).in(Singleton.class);
        bind(ModelLoader.class).to(HfModelLoader.class);
        bind(ExperimentRunner.class).to(dev.peft4j.runtime.train.TrainingRunner.class);
    }

    private <F extends ComponentFactory<?>> void bindFactories(ComponentKind kind, TypeLiteral<F> type) {
        MapBinder<String, F> map = MapBinder.newMapBinder(binder(), new TypeLiteral<String>() {}, type);
        registry.registrations(kind).forEach((name, registration) -> {
            @SuppressWarnings("unchecked")
            F factory = (F) registration.factory();
            map.addBinding(name).toInstance(factory);
        });
    }

    /** Every reference.conf default (the application's and the plugins'), resolved. */
    @Provides
    @Singleton
    Config reference(PluginRegistry registry) {
        return registry.reference().resolve();
    }
}
