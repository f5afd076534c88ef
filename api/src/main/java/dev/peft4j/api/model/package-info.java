/** The model contract: a loaded pretrained transformer as a module tree plus its config and forward pass. */
package dev.peft4j.api.model;
