package org.swiattn.cuda.bf16;

import org.swiattn.properties.Fixture;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * The bf16 instance of {@link Bf16UnderTest} with the pipelined tensor-core backward
 * ({@link Bf16Kernels.BackwardVersion#MMA_PIPE}), created on first use (only when a GPU is present); the same shapes
 * ({@code D <= 128}), at the spec's bf16 tolerance. The fixture of the properties that keep that version covered.
 */
final class Bf16PipeUnderTest implements Fixture {
    private static Bf16Attention instance;

    private Bf16PipeUnderTest() {
    }

    static synchronized Bf16Attention get() {
        if (instance == null) {
            instance = Bf16UnderTest.get().withBackward(Bf16Kernels.BackwardVersion.MMA_PIPE);
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
