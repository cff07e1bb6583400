package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.OracleProperties;
import org.swiattn.spec.SwitchAttention;

/** The suite's oracle properties on CUDA FP64, at CudaAttention's fp64 bound ({@link CudaUnderTest#FP64_BOUNDS}). */
@AddLifecycleHook(CudaPresent.class)
class CudaFp64OracleProperties extends OracleProperties {
    @Override
    protected SwitchAttention implementation() {
        return CudaUnderTest.fp64();
    }

    @Override
    protected Bounds bounds() {
        return CudaUnderTest.FP64_BOUNDS;
    }
}
