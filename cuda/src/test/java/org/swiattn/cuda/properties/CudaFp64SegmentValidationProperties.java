package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentValidationProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's spec 2.0 validation properties on CUDA FP64, at CudaAttention's fp64 bound
 * ({@link CudaUnderTest#FP64_BOUNDS}): malformed segment metadata is rejected, and segment inputs are computed
 * (CudaAttention answers supportsSegments() true). Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(CudaUnderTest.Fp64.class)
class CudaFp64SegmentValidationProperties extends SegmentValidationProperties {
}
