package org.swiattn.cuda.properties;

import org.swiattn.cuda.CudaAttention;
import org.swiattn.spec.Precision;

/** The CUDA instances the property suite runs on, created on first use (only when a GPU is present). */
final class CudaUnderTest {
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
}
