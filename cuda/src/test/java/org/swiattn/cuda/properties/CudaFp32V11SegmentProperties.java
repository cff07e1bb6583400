package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's spec 2.0 segment properties on CUDA FP32 with the tensor-core backward: the backward of every table
 * runs the {@code swi_bwd_*_v11_f32_d<D>_seg} kernels, at the spec's fp32 tolerance; shapes with D outside
 * {16, 32, 64, 128} are skipped. Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(CudaUnderTest.Fp32V11.class)
class CudaFp32V11SegmentProperties extends SegmentProperties {
}
