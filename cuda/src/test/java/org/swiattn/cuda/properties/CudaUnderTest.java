package org.swiattn.cuda.properties;

import org.swiattn.cuda.CudaAttention;
import org.swiattn.properties.AttentionPropertiesBase;
import org.swiattn.properties.Fixture;
import org.swiattn.reference.ScoreMagnitude;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/** The CUDA instances the property suite runs on, created on first use (only when a GPU is present). */
final class CudaUnderTest {
    /**
     * The bound CudaAttention promises in fp64 (cuda/README.md): every tensor within 1e-13 * max(1, M) of the
     * reference, M the score magnitude (the softmax's condition), 10x tighter than the spec's fp64 bound.
     */
    static final AttentionPropertiesBase.Bounds FP64_BOUNDS =
            AttentionPropertiesBase.Bounds.uniform(in -> 1e-13 * Math.max(1, ScoreMagnitude.max(in)));

    private static CudaAttention fp64;
    private static CudaAttention fp32;

    private CudaUnderTest() {
    }

    static synchronized CudaAttention fp64() {
        if (fp64 == null) {
            fp64 = CudaAttention.create(Precision.FP64);
        }
        return fp64;
    }

    static synchronized CudaAttention fp32() {
        if (fp32 == null) {
            fp32 = CudaAttention.create(Precision.FP32);
        }
        return fp32;
    }

    /** The fixture of the CudaFp64*Properties classes: {@link #fp64()} at {@link #FP64_BOUNDS}. */
    static final class Fp64 implements Fixture {
        @Override
        public SwitchAttention implementation() {
            return fp64();
        }

        @Override
        public AttentionPropertiesBase.Bounds bounds() {
            return FP64_BOUNDS;
        }
    }

    /** The fixture of the CudaFp32*Properties classes: {@link #fp32()} at the spec's fp32 tolerance. */
    static final class Fp32 implements Fixture {
        @Override
        public SwitchAttention implementation() {
            return fp32();
        }
    }
}
