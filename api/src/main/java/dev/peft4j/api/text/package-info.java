/** Tokenization as the SPI sees it: text to ids with explicit padding and truncation, and back. */
package dev.peft4j.api.text;
