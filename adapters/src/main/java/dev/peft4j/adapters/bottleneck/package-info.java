/**
 * {@code method = bottleneck}: AdapterHub's bottleneck adapters on BERT-style encoders, Houlsby (after the
 * attention output and after the FFN) and Pfeiffer (after the FFN only). Roles: {@link
 * dev.peft4j.adapters.bottleneck.BottleneckConfig} (config), {@link dev.peft4j.adapters.bottleneck.BottleneckLayer}
 * (layer: a residual output with an adapter), {@link dev.peft4j.adapters.bottleneck.BottleneckModel} (model) and
 * {@link dev.peft4j.adapters.bottleneck.BottleneckMethod} (the registered factory).
 */
package dev.peft4j.adapters.bottleneck;
