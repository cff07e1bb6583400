package org.swiattn.cuda.bf16;

import org.swiattn.properties.Fixture;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * The bf16 instance of {@link Bf16UnderTest} with the SIMT backward ({@link Bf16Kernels.BackwardVersion#SIMT}), created
 * on first use (only when a GPU is present); the same shapes ({@code D <= 128}), at the spec's bf16 tolerance. The
 * fixture of the properties that keep the non-default backward version covered.
 */
final class Bf16SimtUnderTest implements Fixture {
    private static Bf16Attention instance;

    private Bf16SimtUnderTest() {
    }

    static synchronized Bf16Attention get() {
        if (instance == null) {
            instance = Bf16UnderTest.get().withBackward(Bf16Kernels.BackwardVersion.SIMT);
        }
        return instance;
    }

    @Override
    public SwitchAttention implementation() {
        return get();
    }

    @Override
    public boolean supports(Shape shape, int window) {
        return Bf16UnderTest.supports(shape);
    }
}
