package dev.peft4j.distillation;

import dev.peft4j.api.config.ConfigReader;
import java.util.List;

/** The {@code student-layers} / {@code teacher-layers} pair of a layer-matching objective, checked alike for each. */
record LayerMap(List<Integer> student, List<Integer> teacher) {
    /** Reads both lists; unequal lengths and negative indices are problems of the reader, {@code indices} says what they count. */
    static LayerMap read(ConfigReader r, String indices) {
        List<Integer> student = r.intList("student-layers");
        List<Integer> teacher = r.intList("teacher-layers");
        if (student.size() != teacher.size()) {
            r.problem("teacher-layers", "has " + teacher.size() + " entries " + teacher + " but student-layers has " + student.size() + " "
                    + student + "; expected one teacher layer per student layer");
        }
        for (String key : List.of("student-layers", "teacher-layers")) {
            for (int layer : key.equals("student-layers") ? student : teacher) {
                if (layer < 0) {
                    r.problem(key, "contains " + layer + ", expected " + indices);
                }
            }
        }
        return new LayerMap(student, teacher);
    }
}
