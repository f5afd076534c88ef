package dev.peft4j.models.safetensors;

import static java.util.Objects.requireNonNull;

import ai.djl.ndarray.types.Shape;
import java.util.Arrays;

/**
 * One tensor of a safetensors header. {@code begin} and {@code end} are byte offsets relative to
 * the start of the data section (the byte after the header), {@code end} exclusive.
 */
public record TensorEntry(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {
    public TensorEntry {
        requireNonNull(name, "name is null");
        requireNonNull(dtype, "dtype is null");
        shape = requireNonNull(shape, "shape is null").clone();
    }

    /** A copy of the dimensions; {@code []} for a 0-d (scalar) tensor. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements (1 for a 0-d tensor); the header was checked not to overflow. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** {@code end - begin}. */
    public long byteLength() {
        return end - begin;
    }

    public Shape djlShape() {
        return new Shape(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorEntry e && name.equals(e.name) && dtype == e.dtype && Arrays.equals(shape, e.shape)
                && begin == e.begin && end == e.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
    }
}
