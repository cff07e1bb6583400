package org.swiattn.properties;

import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints {@link SuiteSummary} once, when the test plan has finished (registered through META-INF/services, so
 * every module that runs the suite prints it at the end of its test run).
 */
public final class SummaryListener implements TestExecutionListener {

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        if (!SuiteSummary.isEmpty()) {
            System.out.println();
            System.out.print(SuiteSummary.render());
            System.out.flush();
        }
    }
}
