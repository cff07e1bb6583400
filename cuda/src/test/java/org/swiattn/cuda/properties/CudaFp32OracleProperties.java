package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.OracleProperties;
import org.swiattn.spec.SwitchAttention;


/** The suite's oracle properties on CUDA FP32. */
@AddLifecycleHook(CudaPresent.class)
class CudaFp32OracleProperties extends OracleProperties {
    @Override
    protected SwitchAttention implementation() {
        return CudaUnderTest.fp32();
    }

}
