package org.swiattn.golden;

/**
 * One named tensor of a case in memory: floating data (F64 in the file) or integer data (U8 / I64).
 *
 * <pre>
 *   shape  [rank];  f [numel] or i [numel], row-major
 * </pre>
 */
public record GTensor(String name, Dtype dtype, long[] shape, double[] f, long[] i) {

    /** A floating tensor (stored F64). */
    public static GTensor f64(String name, double[] x, long... shape) {
        return new GTensor(name, Dtype.F64, shape, x, null);
    }

    /** An integer tensor. */
    public static GTensor ints(String name, Dtype dtype, long[] x, long... shape) {
        return new GTensor(name, dtype, shape, null, x);
    }

    /** Whether the data is floating point. */
    public boolean floating() {
        return f != null;
    }

    /** Adds this tensor to a writer. */
    void addTo(SafeTensorsWriter w) {
        if (floating()) {
            w.addDoubles(name, dtype, shape, f);
        } else {
            w.addLongs(name, dtype, shape, i);
        }
    }
}
