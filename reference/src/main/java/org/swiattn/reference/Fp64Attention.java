package org.swiattn.reference;

import org.swiattn.spec.Precision;
import org.swiattn.spec.SwitchAttention;

/**
 * What the fp64 computations of this module share as implementations of the contract: a name, fp64, and every
 * segment table (spec 2.0). The arithmetic is each subclass's own.
 */
abstract class Fp64Attention implements SwitchAttention {
    private final String name;

    /** @param name the implementation's name in reports */
    Fp64Attention(String name) {
        this.name = name;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final Precision precision() {
        return Precision.FP64;
    }

    /** True: every segment table is computed. */
    @Override
    public final boolean supportsSegments() {
        return true;
    }
}
