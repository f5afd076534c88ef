/**
 * peft4j's own safetensors support: {@link dev.peft4j.models.safetensors.SafetensorsFile}
 * (memory-mapped, fully validated reading of files of any size),
 * {@link dev.peft4j.models.safetensors.SafetensorsWriter} (atomic writing of files HuggingFace's
 * library reads) and {@link dev.peft4j.models.safetensors.StateDictLoader} (strict loading into a
 * module tree). DJL's own codec is not used: it reads whole files into one array (2 GB limit),
 * does not align the header, and would create BF16 tensors, which abort the JVM.
 */
package dev.peft4j.models.safetensors;
