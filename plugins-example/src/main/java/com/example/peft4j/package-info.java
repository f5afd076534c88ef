/**
 * An example third-party peft4j plugin: LayerNorm tuning (an adapter method that trains only the
 * normalisation layers) and a mean-pooling classification head. It is compiled against
 * {@code peft4j-api} alone and loaded from a plugin directory in its own class loader.
 */
package com.example.peft4j;
