package org.swiattn.cuda;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A skip condition of GPU tests for JUnit and jqwik ({@link CudaPresent}, {@link HopperPresent}): skips when
 * {@link #reason()} names why the tests cannot run here, printing one line per kind of test and run.
 */
abstract class GpuCondition implements ExecutionCondition, SkipExecutionHook {
    private static final Set<String> TOLD = ConcurrentHashMap.newKeySet();
    private final String tests;
    private final String missing;

    /** tests: what is skipped ("GPU tests"); missing: what is absent, for the skip message ("CUDA"). */
    GpuCondition(String tests, String missing) {
        this.tests = tests;
        this.missing = missing;
    }

    /** Why the tests cannot run here, or null. */
    abstract String reason();

    private String tell() {
        String why = reason();
        if (why != null && TOLD.add(tests)) {
            System.out.println("[swiattn-cuda] " + tests + " skipped: " + why);
        }
        return why;
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        String why = tell();
        return why == null ? ConditionEvaluationResult.enabled(missing + " present")
                : ConditionEvaluationResult.disabled("no " + missing + ": " + why);
    }

    @Override
    public SkipResult shouldBeSkipped(LifecycleContext context) {
        String why = tell();
        return why == null ? SkipResult.doNotSkip() : SkipResult.skip("no " + missing + ": " + why);
    }
}
