/**
 * The plugin host: {@link dev.peft4j.runtime.plugin.PluginDiscovery} finds built-in plugins on the
 * application classpath and third-party jars in a plugin directory, each in its own
 * {@link dev.peft4j.runtime.plugin.PluginClassLoader} (platform parent, an allow-list of shared
 * packages); {@link dev.peft4j.runtime.plugin.PluginRegistry} holds their factories by kind and name.
 * Every discovery problem (empty or broken jar, duplicate name, SPI version) is reported together.
 */
package dev.peft4j.runtime.plugin;
