package org.swiattn.golden;

import java.util.Arrays;

/**
 * One tensor entry of a safetensors header, already validated.
 *
 * <pre>{@code
 *   name     the key in the JSON header
 *   dtype    element type
 *   shape    [rank] sizes, each >= 0 (rank 0 is a scalar with one element)
 *   begin    first byte of the data, relative to the start of the data section
 *   end      one past the last byte; end - begin == numel * dtype.bytes()
 * }</pre>
 */
public record TensorInfo(String name, Dtype dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements: the product of the shape (1 for a scalar). */
    public long numel() {
        long n = 1;
        for (long s : shape) {
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    /** Whether the shape equals the given one. */
    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }

    /** The shape as {@code [a, b, c]}. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && t.name.equals(name) && t.dtype == dtype && Arrays.equals(t.shape, shape)
                && t.begin == begin && t.end == end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + shapeString();
    }
}
