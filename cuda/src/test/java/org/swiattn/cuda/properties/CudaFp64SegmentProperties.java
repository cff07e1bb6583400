package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's spec 2.0 segment properties on CUDA FP64, at CudaAttention's fp64 bound
 * ({@link CudaUnderTest#FP64_BOUNDS}), forward and backward: CudaAttention runs every table on its segment-table
 * kernels. Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(CudaUnderTest.Fp64.class)
class CudaFp64SegmentProperties extends SegmentProperties {
}
