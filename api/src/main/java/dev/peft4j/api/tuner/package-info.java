/**
 * The shared tuner base (PEFT's {@code BaseTuner} parts that every method needs): target matching with PEFT's
 * rules ({@link dev.peft4j.api.tuner.ModulePatterns}) and PEFT's saved-key naming
 * ({@link dev.peft4j.api.tuner.PeftKeys}). Built-in methods and third-party plugins use the same code.
 */
package dev.peft4j.api.tuner;
