/**
 * The peft4j SPI and model contract. Plugins compile against this package tree only.
 *
 * <p>{@link dev.peft4j.api.nn} holds the named module tree that adapter methods adapt.
 */
package dev.peft4j.api;
