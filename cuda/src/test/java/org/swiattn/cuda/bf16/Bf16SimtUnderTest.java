package org.swiattn.cuda.bf16;

/** The fixture with the SIMT backward ({@link Bf16Kernels.BackwardVersion#SIMT}): {@link Bf16VersionUnderTest}. */
final class Bf16SimtUnderTest extends Bf16VersionUnderTest {
    Bf16SimtUnderTest() {
        super(Bf16Kernels.BackwardVersion.SIMT);
    }
}
