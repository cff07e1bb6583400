package org.swiattn.cuda.properties;

import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.swiattn.cuda.CudaPresent;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.spec.SwitchAttention;

/**
 * The suite's spec 2.0 segment properties on CUDA FP32 (at the spec's tolerance; each property is skipped with its
 * reason while the implementation answers supportsSegments() false). Skips with one line without a GPU.
 */
@AddLifecycleHook(CudaPresent.class)
class CudaFp32SegmentProperties extends SegmentProperties {
    @Override
    protected SwitchAttention implementation() {
        return CudaUnderTest.fp32();
    }
}
