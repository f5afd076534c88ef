/**
 * Strict, collect-all-errors reading of a component's HOCON section. Every problem names the full
 * key, the file and line ({@code ConfigOrigin}), the bad value and what would be valid.
 */
package dev.peft4j.api.config;
