package org.swiattn.properties;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints {@link SuiteSummary} once, when the test plan has finished (registered through META-INF/services, so
 * every module that runs the suite prints it at the end of its test run), and writes it to
 * {@code target/swiattn-properties-summary.txt} when the working directory has a {@code target} folder (Maven runs
 * tests in the module folder).
 */
public final class SummaryListener implements TestExecutionListener {

    @Override
    public void testPlanExecutionFinished(TestPlan testPlan) {
        if (!SuiteSummary.isEmpty()) {
            System.out.println();
            String summary = SuiteSummary.render();
            System.out.print(summary);
            System.out.flush();
            Path target = Path.of("target");
            if (Files.isDirectory(target)) {
                try {
                    Files.writeString(target.resolve("swiattn-properties-summary.txt"), summary);
                } catch (IOException e) {
                    System.out.println("could not write the suite summary: " + e);
                }
            }
        }
    }
}
