package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.ForwardProperties;
import org.swiattn.spec.SwitchAttention;


/** The suite's forward properties on CUDA FP32. */
@AddLifecycleHook(CudaPresent.class)
class CudaFp32ForwardProperties extends ForwardProperties {
    @Override
    protected SwitchAttention implementation() {
        return CudaUnderTest.fp32();
    }

}
