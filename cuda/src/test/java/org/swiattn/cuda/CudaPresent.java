package org.swiattn.cuda;

import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.swiattn.cuda.driver.Cuda;
import org.swiattn.cuda.driver.KernelModule;

/**
 * Skips GPU tests (JUnit: {@code @ExtendWith(CudaPresent.class)}; jqwik: {@code @AddLifecycleHook(CudaPresent.class)})
 * when there is no CUDA driver, no device, or no packaged kernels, printing one line once per run.
 */
public final class CudaPresent implements ExecutionCondition, SkipExecutionHook {
    private static boolean told;

    /** Why GPU tests cannot run here, or null. */
    static String reason() {
        String why = Cuda.unavailableReason();
        if (why == null && !KernelModule.isPackaged(KernelPlan.FORWARD_MODULE)) {
            why = "kernels not compiled (no nvcc at build time)";
        }
        return why;
    }

    private static synchronized String tell() {
        String why = reason();
        if (why != null && !told) {
            told = true;
            System.out.println("[swiattn-cuda] GPU tests skipped: " + why);
        }
        return why;
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        String why = tell();
        return why == null ? ConditionEvaluationResult.enabled("CUDA present")
                : ConditionEvaluationResult.disabled("no CUDA: " + why);
    }

    @Override
    public SkipResult shouldBeSkipped(LifecycleContext context) {
        String why = tell();
        return why == null ? SkipResult.doNotSkip() : SkipResult.skip("no CUDA: " + why);
    }
}
