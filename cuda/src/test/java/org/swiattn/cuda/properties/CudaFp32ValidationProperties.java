package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.ValidationProperties;
import org.swiattn.spec.SwitchAttention;


/** The suite's validation properties on CUDA FP32. */
@AddLifecycleHook(CudaPresent.class)
class CudaFp32ValidationProperties extends ValidationProperties {
    @Override
    protected SwitchAttention implementation() {
        return CudaUnderTest.fp32();
    }

}
