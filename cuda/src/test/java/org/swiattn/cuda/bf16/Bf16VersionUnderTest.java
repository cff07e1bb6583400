package org.swiattn.cuda.bf16;

import java.util.EnumMap;
import java.util.Map;
import org.swiattn.properties.Fixture;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * The bf16 instance of {@link Bf16UnderTest} with another backward version, created on first use (only when a GPU
 * that runs it is present); the same shapes ({@code D <= 128}), at the spec's bf16 tolerance. The fixtures of the
 * properties that cover the backward versions other than the device's default ({@link Bf16SimtUnderTest},
 * {@link Bf16WgmmaUnderTest}).
 */
abstract class Bf16VersionUnderTest implements Fixture {
    private static final Map<Bf16Kernels.BackwardVersion, Bf16Attention> INSTANCES =
            new EnumMap<>(Bf16Kernels.BackwardVersion.class);
    private final Bf16Kernels.BackwardVersion version;

    Bf16VersionUnderTest(Bf16Kernels.BackwardVersion version) {
        this.version = version;
    }

    @Override
    public SwitchAttention implementation() {
        synchronized (INSTANCES) {
            return INSTANCES.computeIfAbsent(version, v -> Bf16UnderTest.get().withBackward(v));
        }
    }

    @Override
    public boolean supports(Shape shape, int window) {
        return Bf16UnderTest.supports(shape);
    }
}
