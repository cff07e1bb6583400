package org.swiattn.properties.mutants;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherConfig;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;
import org.swiattn.properties.ForwardProperties;
import org.swiattn.properties.GradientProperties;
import org.swiattn.properties.SegmentProperties;
import org.swiattn.properties.ValidationProperties;
import org.swiattn.reference.Mistake;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.SwitchAttention;

/**
 * The suite can fail: each mutant below is the reference with one classic bug, and the properties named for it
 * must falsify it (run through the JUnit Platform launcher, shrinking off, output captured). Every mutant is
 * checked, and the test counts them, so a mutant cannot be added without being run.
 *
 * <pre>
 *   mutant                      bug                                               caught by
 *   window-plus-one (*)         window branch sees w+1 keys                       all-window = window; locality
 *   window-minus-one (*)        window branch sees w-1 keys                       all-window = window
 *   scale-one-over-d (*)        scores scaled by 1/D                              LSE definition
 *   route-per-head (*)          head h of token i routed like token (i Hq+h) % S  rows = selected branch
 *   soft-delta-routed (*)       SOFT backward: Delta from the routed output       input finite differences
 *   lse-log2 (*)                LSE in log2 (the authors' kernel's storage)       LSE definition; shift invariance
 *   gqa-modulo (*)              query head h reads kv head h % Hkv (not h / G)    GQA = MHA
 *   causal-late (*)             row i sees key i+1                                causality; all-full = full
 *   soft-as-hard                SOFT forward ignores p                            rows = selected branch / p-mix
 *   router-gradient-sign        dL/da negated                                     router finite differences
 *   rows-clamped                forwardRows clamps rows into range                rows out of range rejected
 *   spec 2.0 (SegmentMutants, run on SegmentProperties):
 *   top-left                    Sq below Sk aligned top-left                      chunked prefill; decode
 *   crossing-segments           a segment sees the earlier segments' keys         packed = one by one; no crossing
 *   positions-not-restarted     positions count earlier segments' query rows      packed = one by one
 *   decode-ignores-window       Sq = 1 against a cache ignores the window         decode step = prefill row
 *   gradients-beyond-length     dK, dV of unused key rows left non-zero           cache slots; packed = one by one
 * </pre>
 * (*) the catalogue's own entry ({@link Mistake}, SPEC.md section 10.1), planted as {@code swiattn check --explain}
 * plants it; the others are mutants of this test only.
 */
class SuiteCatchesMutantsTest {

    static final ReferenceAttention REF = new ReferenceAttention(false);

    /** The reference with hooks to break it. */
    static class Mutant implements SwitchAttention {
        private final String name;

        Mutant(String name) {
            this.name = "mutant-" + name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Precision precision() {
            return Precision.FP64;
        }

        @Override
        public ForwardResult forward(AttentionInputs in) {
            return REF.forward(in);
        }

        @Override
        public BackwardResult backward(AttentionInputs in, double[] dOut) {
            return REF.backward(in, dOut);
        }

        @Override
        public RowsResult forwardRows(AttentionInputs in, int[] rows) {
            in.checkRows(rows);
            return RowsResult.extract(forward(in), rows);
        }
    }

    /** A mistake of the catalogue (SPEC.md section 10.1) planted into the reference, as check --explain plants it. */
    static SwitchAttention planted(Mistake m) {
        return m.planted(REF);
    }

    static final Mutant SOFT_AS_HARD = new Mutant("soft-as-hard") {
        @Override
        public ForwardResult forward(AttentionInputs in) {
            return REF.forward(in.estimator() == Estimator.SOFT ? in.withEstimator(Estimator.HARD) : in);
        }
    };

    static final Mutant ROUTER_GRADIENT_SIGN = new Mutant("router-gradient-sign") {
        @Override
        public BackwardResult backward(AttentionInputs in, double[] dOut) {
            BackwardResult g = REF.backward(in, dOut);
            double[] da = g.dRouterLogit().clone();
            for (int r = 0; r < da.length; r++) {
                da[r] = -da[r];
            }
            return new BackwardResult(g.shape(), g.dq(), g.dk(), g.dv(), da);
        }
    };

    static final Mutant ROWS_CLAMPED = new Mutant("rows-clamped") {
        @Override
        public RowsResult forwardRows(AttentionInputs in, int[] rows) {
            int[] clamped = new int[rows.length];
            for (int n = 0; n < rows.length; n++) {
                clamped[n] = Math.max(0, Math.min(in.shape().rows() - 1, rows[n]));
            }
            return REF.forwardRows(in, clamped);
        }
    };

    // the property classes on each mutant (nested: never picked up by surefire on their own)

    static class WindowPlusOne extends ForwardProperties {
        @Override
        protected SwitchAttention implementation() {
            return planted(Mistake.WINDOW_PLUS_ONE);
        }
    }

    static class WindowMinusOne extends ForwardProperties {
        @Override
        protected SwitchAttention implementation() {
            return planted(Mistake.WINDOW_MINUS_ONE);
        }
    }

    static class ScaleOneOverD extends ForwardProperties {
        @Override
        protected SwitchAttention implementation() {
            return planted(Mistake.SCALE_ONE_OVER_D);
        }
    }

    static class RoutePerHead extends ForwardProperties {
        @Override
        protected SwitchAttention implementation() {
            return planted(Mistake.ROUTE_PER_HEAD);
        }
    }

    static class SoftDeltaRouted extends GradientProperties {
        @Override
        protected SwitchAttention implementation() {
            return planted(Mistake.SOFT_DELTA_ROUTED);
        }
    }

    static class LseLog2 extends ForwardProperties {
        @Override
        protected SwitchAttention implementation() {
            return planted(Mistake.LSE_LOG2);
        }
    }

    static class GqaModulo extends ForwardProperties {
        @Override
        protected SwitchAttention implementation() {
            return planted(Mistake.GQA_MODULO);
        }
    }

    static class CausalLate extends ForwardProperties {
        @Override
        protected SwitchAttention implementation() {
            return planted(Mistake.CAUSAL_LATE);
        }
    }

    static class SoftAsHard extends ForwardProperties {
        @Override
        protected SwitchAttention implementation() {
            return SOFT_AS_HARD;
        }
    }

    static class RouterGradientSign extends GradientProperties {
        @Override
        protected SwitchAttention implementation() {
            return ROUTER_GRADIENT_SIGN;
        }
    }

    static class RowsClamped extends ValidationProperties {
        @Override
        protected SwitchAttention implementation() {
            return ROWS_CLAMPED;
        }
    }

    // spec 2.0 mutants: the segment properties at the spec's tolerance (not bit for bit), as other implementations

    static class TopLeft extends SegmentProperties {
        @Override
        protected SwitchAttention implementation() {
            return SegmentMutants.TOP_LEFT;
        }
    }

    static class CrossingSegments extends SegmentProperties {
        @Override
        protected SwitchAttention implementation() {
            return SegmentMutants.CROSSING_SEGMENTS;
        }
    }

    static class PositionsNotRestarted extends SegmentProperties {
        @Override
        protected SwitchAttention implementation() {
            return SegmentMutants.POSITIONS_NOT_RESTARTED;
        }
    }

    static class DecodeIgnoresWindow extends SegmentProperties {
        @Override
        protected SwitchAttention implementation() {
            return SegmentMutants.DECODE_IGNORES_WINDOW;
        }
    }

    static class GradientsBeyondLength extends SegmentProperties {
        @Override
        protected SwitchAttention implementation() {
            return SegmentMutants.GRADIENTS_BEYOND_LENGTH;
        }
    }

    /** Runs one property of a suite class on its mutant; returns how many failed (0 or 1). */
    static long failures(Class<?> suite, Class<?> declaring, String property) {
        Method m = Arrays.stream(declaring.getDeclaredMethods()).filter(x -> x.getName().equals(property))
                .findFirst().orElseThrow(() -> new AssertionError("no property " + property + " in " + declaring));
        LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                .selectors(selectMethod(suite, m))
                .configurationParameter("jqwik.shrinking.default", "OFF")
                .configurationParameter("jqwik.database", "target/.jqwik-database-mutants")
                .build();
        Launcher launcher = LauncherFactory.create(LauncherConfig.builder()
                .enableTestExecutionListenerAutoRegistration(false).build());
        SummaryGeneratingListener listener = new SummaryGeneratingListener();
        PrintStream out = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            launcher.execute(request, listener);
        } finally {
            System.setOut(out);
        }
        TestExecutionSummary summary = listener.getSummary();
        assertThat(summary.getTestsFoundCount()).as("%s.%s was not found", suite.getSimpleName(), property)
                .isEqualTo(1);
        return summary.getTestsFailedCount();
    }

    static int checkedMutants;

    /** Requires every named property to falsify the mutant. */
    static void caught(Class<?> suite, Class<?> declaring, String... properties) {
        for (String p : properties) {
            assertThat(failures(suite, declaring, p)).as("%s must be caught by %s", suite.getSimpleName(), p)
                    .isEqualTo(1);
        }
        checkedMutants++;
    }

    @Test
    void everyMutantIsCaught() {
        caught(WindowPlusOne.class, ForwardProperties.class, "allWindowRouteIsSlidingWindowAttention",
                "windowLocality");
        caught(WindowMinusOne.class, ForwardProperties.class, "allWindowRouteIsSlidingWindowAttention");
        caught(ScaleOneOverD.class, ForwardProperties.class, "lseIsTheLogSumExpOfTheVisibleScores");
        caught(RoutePerHead.class, ForwardProperties.class, "routedRowsAreTheirSelectedBranch");
        caught(SoftDeltaRouted.class, GradientProperties.class, "inputGradientsAgreeWithFiniteDifferences");
        caught(LseLog2.class, ForwardProperties.class, "lseIsTheLogSumExpOfTheVisibleScores", "shiftInvariance");
        caught(GqaModulo.class, ForwardProperties.class, "gqaEqualsMhaWithRepeatedHeads");
        caught(CausalLate.class, ForwardProperties.class, "causality", "allFullRouteIsFullCausalAttention");
        caught(SoftAsHard.class, ForwardProperties.class, "routedRowsAreTheirSelectedBranch");
        caught(RouterGradientSign.class, GradientProperties.class, "routerGradientAgreesWithFiniteDifferences");
        caught(RowsClamped.class, ValidationProperties.class, "rowsOutOfRangeAreRejected");
        caught(TopLeft.class, SegmentProperties.class, "chunkedPrefillEqualsTheRowsOfTheOneShotPrefill",
                "decodeStepEqualsTheRowOfThePrefill");
        caught(CrossingSegments.class, SegmentProperties.class, "packedBatchEqualsItsSegmentsOneByOne",
                "nothingCrossesASegment");
        caught(PositionsNotRestarted.class, SegmentProperties.class, "packedBatchEqualsItsSegmentsOneByOne");
        caught(DecodeIgnoresWindow.class, SegmentProperties.class, "decodeStepEqualsTheRowOfThePrefill");
        caught(GradientsBeyondLength.class, SegmentProperties.class, "cacheSlotsBeyondTheLengthNeverMatter",
                "packedBatchEqualsItsSegmentsOneByOne");
        // one mutant per nested suite class: a new mutant class without a line above fails here
        long suites = Arrays.stream(SuiteCatchesMutantsTest.class.getDeclaredClasses())
                .filter(c -> c.getSuperclass() != null && c.getSuperclass().getSimpleName().endsWith("Properties"))
                .count();
        assertThat(checkedMutants).isEqualTo(suites).isEqualTo(16);
    }
}
