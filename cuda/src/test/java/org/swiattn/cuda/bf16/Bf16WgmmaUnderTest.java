package org.swiattn.cuda.bf16;

/**
 * The fixture with the wgmma backward ({@link Bf16Kernels.BackwardVersion#WGMMA}, compute capability 9.0):
 * {@link Bf16VersionUnderTest}.
 */
final class Bf16WgmmaUnderTest extends Bf16VersionUnderTest {
    Bf16WgmmaUnderTest() {
        super(Bf16Kernels.BackwardVersion.WGMMA);
    }
}
