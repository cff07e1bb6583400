package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.GradientProperties;
import org.swiattn.spec.SwitchAttention;


/** The suite's gradient properties on CUDA FP32. */
@AddLifecycleHook(CudaPresent.class)
class CudaFp32GradientProperties extends GradientProperties {
    @Override
    protected SwitchAttention implementation() {
        return CudaUnderTest.fp32();
    }

}
