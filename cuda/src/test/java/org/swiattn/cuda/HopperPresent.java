package org.swiattn.cuda;

import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.swiattn.cuda.driver.CudaDevice;

/**
 * Skips tests of the sm_90a-only kernels (JUnit: {@code @ExtendWith(HopperPresent.class)}; jqwik:
 * {@code @AddLifecycleHook(HopperPresent.class)}) where {@link CudaPresent} skips, and on devices other than compute
 * capability 9.0, printing one line once per run.
 */
public final class HopperPresent implements ExecutionCondition, SkipExecutionHook {
    private static boolean told;

    /** Why sm_90a tests cannot run here, or null. */
    static String reason() {
        String why = CudaPresent.reason();
        if (why == null) {
            int cc = CudaDevice.get().computeCapability();
            if (cc != 90) {
                why = "the device has compute capability " + cc / 10 + "." + cc % 10 + ", the sm_90a kernels need 9.0";
            }
        }
        return why;
    }

    private static synchronized String tell() {
        String why = reason();
        if (why != null && !told) {
            told = true;
            System.out.println("[swiattn-cuda] sm_90a tests skipped: " + why);
        }
        return why;
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        String why = tell();
        return why == null ? ConditionEvaluationResult.enabled("sm_90a device present")
                : ConditionEvaluationResult.disabled("no sm_90a device: " + why);
    }

    @Override
    public SkipResult shouldBeSkipped(LifecycleContext context) {
        String why = tell();
        return why == null ? SkipResult.doNotSkip() : SkipResult.skip("no sm_90a device: " + why);
    }
}
