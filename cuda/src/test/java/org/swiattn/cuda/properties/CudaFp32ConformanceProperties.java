package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.ConformanceProperties;
import org.swiattn.spec.SwitchAttention;


/** The suite's conformance properties on CUDA FP32. */
@AddLifecycleHook(CudaPresent.class)
class CudaFp32ConformanceProperties extends ConformanceProperties {
    @Override
    protected SwitchAttention implementation() {
        return CudaUnderTest.fp32();
    }

}
