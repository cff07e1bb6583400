package org.swiattn.properties.mutants;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

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

    // the property classes, each run on the mutant of the moment (nested: never picked up by surefire on their own)

    /** The mutant the nested property classes run on: set by {@link #caught} for one launch at a time. */
    private static volatile SwitchAttention underTest;

    static class OnMutantForward extends ForwardProperties {
        @Override
        protected SwitchAttention implementation() {
            return underTest;
        }
    }

    static class OnMutantGradient extends GradientProperties {
        @Override
        protected SwitchAttention implementation() {
            return underTest;
        }
    }

    static class OnMutantValidation extends ValidationProperties {
        @Override
        protected SwitchAttention implementation() {
            return underTest;
        }
    }

    /** The spec 2.0 mutants: the segment properties at the spec's tolerance (not bit for bit), as others run them. */
    static class OnMutantSegments extends SegmentProperties {
        @Override
        protected SwitchAttention implementation() {
            return underTest;
        }
    }

    /** Runs one property of a suite class on its mutant; returns how many failed (0 or 1). */
    static long failures(Class<?> suite, String property) {
        Class<?> declaring = suite.getSuperclass();
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

    /** The names of the mutants checked so far. */
    static final Set<String> checkedMutants = new LinkedHashSet<>();

    /** Requires every named property of suite to falsify the mutant. */
    static void caught(SwitchAttention mutant, Class<?> suite, String... properties) {
        underTest = mutant;
        try {
            for (String p : properties) {
                assertThat(failures(suite, p)).as("%s must be caught by %s", mutant.name(), p).isEqualTo(1);
            }
        } finally {
            underTest = null;
        }
        assertThat(checkedMutants.add(mutant.name())).as("%s checked twice", mutant.name()).isTrue();
    }

    @Test
    void everyMutantIsCaught() throws IllegalAccessException {
        caught(planted(Mistake.WINDOW_PLUS_ONE), OnMutantForward.class, "allWindowRouteIsSlidingWindowAttention",
                "windowLocality");
        caught(planted(Mistake.WINDOW_MINUS_ONE), OnMutantForward.class, "allWindowRouteIsSlidingWindowAttention");
        caught(planted(Mistake.SCALE_ONE_OVER_D), OnMutantForward.class, "lseIsTheLogSumExpOfTheVisibleScores");
        caught(planted(Mistake.ROUTE_PER_HEAD), OnMutantForward.class, "routedRowsAreTheirSelectedBranch");
        caught(planted(Mistake.SOFT_DELTA_ROUTED), OnMutantGradient.class,
                "inputGradientsAgreeWithFiniteDifferences");
        caught(planted(Mistake.LSE_LOG2), OnMutantForward.class, "lseIsTheLogSumExpOfTheVisibleScores",
                "shiftInvariance");
        caught(planted(Mistake.GQA_MODULO), OnMutantForward.class, "gqaEqualsMhaWithRepeatedHeads");
        caught(planted(Mistake.CAUSAL_LATE), OnMutantForward.class, "causality", "allFullRouteIsFullCausalAttention");
        caught(SOFT_AS_HARD, OnMutantForward.class, "routedRowsAreTheirSelectedBranch");
        caught(ROUTER_GRADIENT_SIGN, OnMutantGradient.class, "routerGradientAgreesWithFiniteDifferences");
        caught(ROWS_CLAMPED, OnMutantValidation.class, "rowsOutOfRangeAreRejected");
        caught(SegmentMutants.TOP_LEFT, OnMutantSegments.class, "chunkedPrefillEqualsTheRowsOfTheOneShotPrefill",
                "decodeStepEqualsTheRowOfThePrefill");
        caught(SegmentMutants.CROSSING_SEGMENTS, OnMutantSegments.class, "packedBatchEqualsItsSegmentsOneByOne",
                "nothingCrossesASegment");
        caught(SegmentMutants.POSITIONS_NOT_RESTARTED, OnMutantSegments.class, "packedBatchEqualsItsSegmentsOneByOne");
        caught(SegmentMutants.DECODE_IGNORES_WINDOW, OnMutantSegments.class, "decodeStepEqualsTheRowOfThePrefill");
        caught(SegmentMutants.GRADIENTS_BEYOND_LENGTH, OnMutantSegments.class, "cacheSlotsBeyondTheLengthNeverMatter",
                "packedBatchEqualsItsSegmentsOneByOne");
        // every mutant constant of this test and of SegmentMutants has a line above: a new one without fails here
        for (Class<?> owner : new Class<?>[] {SuiteCatchesMutantsTest.class, SegmentMutants.class}) {
            for (Field f : owner.getDeclaredFields()) {
                int mod = f.getModifiers();
                if (Modifier.isStatic(mod) && Modifier.isFinal(mod)
                        && SwitchAttention.class.isAssignableFrom(f.getType()) && f.get(null) != REF) {
                    String name = ((SwitchAttention) f.get(null)).name();
                    assertThat(checkedMutants).as("%s.%s (%s) is checked", owner.getSimpleName(), f.getName(), name)
                            .contains(name);
                }
            }
        }
        assertThat(checkedMutants).hasSize(16);
    }
}
