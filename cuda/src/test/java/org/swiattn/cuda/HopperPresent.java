package org.swiattn.cuda;

import org.swiattn.cuda.driver.CudaDevice;

/**
 * Skips tests of the sm_90a-only kernels (JUnit: {@code @ExtendWith(HopperPresent.class)}; jqwik:
 * {@code @AddLifecycleHook(HopperPresent.class)}) where {@link CudaPresent} skips, and on devices other than compute
 * capability 9.0, printing one line once per run.
 */
public final class HopperPresent extends GpuCondition {
    public HopperPresent() {
        super("sm_90a tests", "sm_90a device");
    }

    @Override
    String reason() {
        String why = CudaPresent.why();
        if (why == null) {
            int cc = CudaDevice.get().computeCapability();
            if (cc != 90) {
                why = "the device has compute capability " + cc / 10 + "." + cc % 10 + ", the sm_90a kernels need 9.0";
            }
        }
        return why;
    }
}
