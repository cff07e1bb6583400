package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's spec 2.0 segment properties (chunked prefill, decode, packed batches, forward and backward) on CUDA
 * FP32, at the spec's tolerance: CudaAttention runs every table on its segment-table kernels. Skips with one line
 * without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(CudaUnderTest.Fp32.class)
class CudaFp32SegmentProperties extends SegmentProperties {
}
