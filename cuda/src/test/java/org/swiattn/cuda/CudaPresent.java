package org.swiattn.cuda;

import org.swiattn.cuda.driver.Cuda;
import org.swiattn.cuda.driver.KernelModule;

/**
 * Skips GPU tests (JUnit: {@code @ExtendWith(CudaPresent.class)}; jqwik: {@code @AddLifecycleHook(CudaPresent.class)})
 * when there is no CUDA driver, no device, or no packaged kernels, printing one line once per run.
 */
public final class CudaPresent extends GpuCondition {
    public CudaPresent() {
        super("GPU tests", "CUDA");
    }

    /** Why GPU tests cannot run here, or null. */
    static String why() {
        String why = Cuda.unavailableReason();
        if (why == null && !KernelModule.isPackaged(KernelPlan.FORWARD_MODULE)) {
            why = "kernels not compiled (no nvcc at build time)";
        }
        return why;
    }

    @Override
    String reason() {
        return why();
    }
}
