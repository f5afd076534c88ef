/** peft4j on Apache Spark: batch inference with a trained run, loaded once per executor JVM. */
package dev.peft4j.spark;
