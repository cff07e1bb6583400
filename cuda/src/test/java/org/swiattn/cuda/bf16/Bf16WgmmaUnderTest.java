package org.swiattn.cuda.bf16;

import org.swiattn.properties.Fixture;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * The bf16 instance of {@link Bf16UnderTest} with the wgmma backward ({@link Bf16Kernels.BackwardVersion#WGMMA}),
 * created on first use (only on a compute capability 9.0 GPU); the same shapes ({@code D <= 128}), at the spec's bf16
 * tolerance. The fixture of the properties that cover that backward version.
 */
final class Bf16WgmmaUnderTest implements Fixture {
    private static Bf16Attention instance;

    private Bf16WgmmaUnderTest() {
    }

    static synchronized Bf16Attention get() {
        if (instance == null) {
            instance = Bf16UnderTest.get().withBackward(Bf16Kernels.BackwardVersion.WGMMA);
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
