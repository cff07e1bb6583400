package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.GradientProperties;
import org.swiattn.properties.UnderTest;

/**
 * The suite's gradient properties on CUDA FP32 with the tensor-core backward (v11 on fp32 storage; the fp32 default
 * is v2), at the spec's fp32 tolerance; shapes with D outside {16, 32, 64, 128} are skipped. Skips with one line
 * without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(CudaUnderTest.Fp32V11.class)
class CudaFp32V11GradientProperties extends GradientProperties {
}
