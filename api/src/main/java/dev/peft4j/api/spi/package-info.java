/**
 * The plugin SPI. A plugin jar lists its {@link dev.peft4j.api.spi.Peft4jPlugin} implementation in
 * {@code META-INF/services/dev.peft4j.api.spi.Peft4jPlugin}; the host discovers it with
 * {@link java.util.ServiceLoader}. Built-in methods and heads register the same way.
 *
 * <p>Factories are selected by registered {@code name()}, never by class name. Each factory's
 * defaults live in its jar's {@code reference.conf} under {@code peft4j.methods.<name>},
 * {@code peft4j.heads.<name>}, {@code peft4j.objectives.<name>}, {@code peft4j.datasets.<name>} or {@code peft4j.tracking.<name>};
 * the host merges them under the user's section before calling {@code parseConfig}, and every key
 * the factory does not read is reported as unknown.
 */
package dev.peft4j.api.spi;
