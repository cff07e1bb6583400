package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.spec.SwitchAttention;

/**
 * The suite's spec 2.0 segment properties on CUDA FP64, at CudaAttention's fp64 bound
 * ({@link CudaUnderTest#FP64_BOUNDS}), forward and backward: CudaAttention runs every table on its segment-table
 * kernels. Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
class CudaFp64SegmentProperties extends SegmentProperties {
    @Override
    protected SwitchAttention implementation() {
        return CudaUnderTest.fp64();
    }

    @Override
    protected Bounds bounds() {
        return CudaUnderTest.FP64_BOUNDS;
    }
}
