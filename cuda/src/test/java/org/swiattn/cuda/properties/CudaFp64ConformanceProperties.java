package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.ConformanceProperties;
import org.swiattn.properties.UnderTest;

/** The suite's conformance properties on CUDA FP64, at CudaAttention's fp64 bound ({@link CudaUnderTest#FP64_BOUNDS}). */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(CudaUnderTest.Fp64.class)
class CudaFp64ConformanceProperties extends ConformanceProperties {
}
