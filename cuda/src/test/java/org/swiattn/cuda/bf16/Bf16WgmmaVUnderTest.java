package org.swiattn.cuda.bf16;

import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.properties.Fixture;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * The bf16 implementation on the version-3 forward (wgmma reading V, {@code swi_fwd_wgmmav_bf16_d64/d128_*}) for
 * self-attention and segment tables, created on first use (only when a GPU is present); {@code D <= 128}, and only on
 * compute capability 9.0 (elsewhere every case is unsupported). The fixture that keeps the version-3 {@code _seg}
 * kernels covered while they are not the default.
 */
final class Bf16WgmmaVUnderTest implements Fixture {
    private static Bf16Attention instance;

    private Bf16WgmmaVUnderTest() {
    }

    static synchronized Bf16Attention get() {
        if (instance == null) {
            instance = Bf16Attention.withVariants(Bf16Attention.find("swi_fwd_wgmmav_bf16_d64_w2_s2_b2"),
                    Bf16Attention.find("swi_fwd_wgmmav_bf16_d128_w2_s2_b2"));
        }
        return instance;
    }

    @Override
    public SwitchAttention implementation() {
        return get();
    }

    @Override
    public boolean supports(Shape shape, int window) {
        return Bf16UnderTest.supports(shape) && CudaDevice.get().computeCapability() == 90;
    }
}
