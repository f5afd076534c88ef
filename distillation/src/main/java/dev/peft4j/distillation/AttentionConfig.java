package dev.peft4j.distillation;

import com.typesafe.config.Config;
import dev.peft4j.api.config.ConfigReader;
import java.util.List;

/**
 * {@code attention}: attention transfer. {@code loss}: {@code kl} (MiniLM's KL between the teacher's and
 * the student's attention distributions of each query) or {@code mse} (TinyBERT's squared error between
 * the attention probabilities); the layer map as two lists of the same length of 0-based attention layer
 * indices, {@code student-layers} and {@code teacher-layers} (both empty: the last layer of each).
 */
public record AttentionConfig(String loss, List<Integer> studentLayers, List<Integer> teacherLayers) {
    static final List<String> LOSSES = List.of("kl", "mse");

    public AttentionConfig {
        studentLayers = List.copyOf(studentLayers);
        teacherLayers = List.copyOf(teacherLayers);
    }

    static AttentionConfig parse(Config section) {
        ConfigReader r = new ConfigReader(section, "").allow("name");
        String loss = r.oneOf("loss", LOSSES);
        LayerMap map = LayerMap.read(r, "attention layer indices >= 0 (0 = the first layer)");
        r.finish();
        return new AttentionConfig(loss, map.student(), map.teacher());
    }
}
