package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.ValidationProperties;
import org.swiattn.properties.UnderTest;


/** The suite's validation properties on CUDA FP32. */
@AddLifecycleHook(CudaPresent.class)
@UnderTest(CudaUnderTest.Fp32.class)
class CudaFp32ValidationProperties extends ValidationProperties {
}
