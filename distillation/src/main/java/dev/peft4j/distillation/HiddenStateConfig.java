package dev.peft4j.distillation;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import java.util.List;

/**
 * {@code hidden-state}: {@code loss} ({@code mse} or {@code cosine}); the layer map as two lists of the
 * same length, {@code student-layers} and {@code teacher-layers}, of hidden-state indices in HF's
 * {@code output_hidden_states} convention (0 = the embeddings' output, i = layer i's output; both empty:
 * the last hidden state of each); {@code projection} ({@code auto}: a learned Linear from the student's
 * hidden size to the teacher's when they differ; {@code always}; {@code never}: different sizes are an
 * error) and the projection's {@code initializer-range}.
 */
public record HiddenStateConfig(String loss, List<Integer> studentLayers, List<Integer> teacherLayers, String projection,
        float initializerRange) {
    static final List<String> LOSSES = List.of("mse", "cosine");
    static final List<String> PROJECTIONS = List.of("auto", "always", "never");

    public HiddenStateConfig {
        studentLayers = List.copyOf(studentLayers);
        teacherLayers = List.copyOf(teacherLayers);
    }

    static HiddenStateConfig parse(Config section) {
        ConfigReader r = new ConfigReader(section, "").allow("name");
        String loss = r.oneOf("loss", LOSSES);
        LayerMap map = LayerMap.read(r, "hidden-state indices >= 0 (0 = embeddings, i = output of layer i)");
        String projection = r.oneOf("projection", PROJECTIONS);
        float range = (float) r.doubleValue("initializer-range", 0, false, 10, true);
        r.finish();
        return new HiddenStateConfig(loss, map.student(), map.teacher(), projection, range);
    }
}
