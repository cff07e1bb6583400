package org.swiattn.cuda.bf16;

import org.swiattn.properties.Fixture;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * The bf16 instance the property suite runs on, created on first use (only when a GPU is present), and the shapes
 * it takes: {@code D <= 128} (64 and 128 natively, smaller D zero-padded). The suite skips (jqwik Assume) cases with
 * {@code 128 < D <= 256}; everything else of the contract is covered (any B, S, Hq/Hkv, w, route, estimator, scale).
 * The fixture of the Bf16*Properties classes, at the spec's bf16 tolerance.
 */
final class Bf16UnderTest implements Fixture {
    private static Bf16Attention instance;

    private Bf16UnderTest() {
    }

    static synchronized Bf16Attention get() {
        if (instance == null) {
            instance = Bf16Attention.create();
        }
        return instance;
    }

    /** Whether the bf16 kernels take this shape: {@code D <= 128}. */
    static boolean supports(Shape shape) {
        return shape.headDim() <= 128;
    }

    @Override
    public SwitchAttention implementation() {
        return get();
    }

    @Override
    public boolean supports(Shape shape, int window) {
        return supports(shape);
    }
}
