package org.swiattn.reference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;

/**
 * Every catalogued mistake, planted into the reference by its transform, computes what the mistake written
 * directly into a dense oracle ({@link MistakeOracle}) computes: forward and backward, every estimator, GQA
 * shapes, B = 2, on whole inputs and on a subset of rows. The test walks every entry and counts them.
 */
class MistakeTest {
    static final RowsComputation REF = new ReferenceAttention(false);

    /** The oracle with the mistake's flags. */
    static MistakeOracle oracleOf(Mistake m) {
        MistakeOracle x = new MistakeOracle();
        switch (m) {
            case WINDOW_PLUS_ONE -> x.windowDelta = 1;
            case WINDOW_MINUS_ONE -> x.windowDelta = -1;
            case CAUSAL_LATE -> x.late = 1;
            case LSE_LOG2 -> x.lseLog2 = true;
            case LSE_OTHER_BRANCH -> x.lseOther = true;
            case GQA_MODULO -> x.gqaModulo = true;
            case SCALE_ONE_OVER_D -> x.scale = -1;   // set per shape below
            case SCALE_MISSING -> x.scale = 1.0;
            case ROUTE_TIE_TO_FULL -> x.tieToFull = true;
            case ROUTE_PER_HEAD -> x.perHead = true;
            case SOFT_DELTA_ROUTED -> x.deltaFromRouted = true;
            case ROUTER_GRADIENT_SUBTRACTION -> x.oneMinusPByDifference = true;
            case TOP_LEFT, CROSSING_SEGMENTS -> { }   // segments only: the oracle's keys and zero
            default -> throw new AssertionError("no oracle for " + m);
        }
        return x;
    }

    /** Inputs with logits mixing ordinary values, exact ties (a = 0) and saturated values (|a| in [30, 38]). */
    static AttentionInputs inputs(long seed, Shape sh, int w, Estimator est) {
        Random rnd = new Random(seed);
        double[] a = TestCases.uniform(rnd, sh.rows(), 3.0);
        for (int r = 0; r < a.length; r++) {
            if (r % 4 == 1) {
                a[r] = 0.0;
            } else if (r % 4 == 2) {
                a[r] = (r % 8 == 2 ? 1 : -1) * (30 + 8 * rnd.nextDouble());
            }
        }
        return AttentionInputs.builder(sh).q(TestCases.uniform(rnd, sh.qSize(), 1.5))
                .k(TestCases.uniform(rnd, sh.kvSize(), 1.5)).v(TestCases.uniform(rnd, sh.kvSize(), 1.0)).window(w)
                .route(Route.ofLogits(sh.batch(), sh.seqLen(), a)).estimator(est).build();
    }

    static void close(String what, double[] planted, double[] oracle) {
        assertThat(ErrorMeasures.normwiseRelative(planted, oracle)).as(what).isLessThanOrEqualTo(1e-11);
    }

    /** Every output and gradient of the planted mistake is close to the oracle's. */
    static void close(String at, RowsOutputs planted, MistakeOracle oracle) {
        close(at + " o", planted.forward().o(), oracle.o);
        close(at + " lse", planted.forward().lse(), oracle.lse);
        close(at + " dq", planted.gradients().dq(), oracle.dq);
        close(at + " dk", planted.gradients().dk(), oracle.dk);
        close(at + " dv", planted.gradients().dv(), oracle.dv);
        close(at + " dA", planted.gradients().dA(), oracle.dA);
    }

    /** max_n |x_n - y_n| / |y_n| over the non-zero y_n (the router gradient's saturated rows are tiny). */
    static double worstElementRelative(double[] x, double[] y) {
        double worst = 0;
        for (int n = 0; n < x.length; n++) {
            if (y[n] != 0) {
                worst = Math.max(worst, Math.abs(x[n] - y[n]) / Math.abs(y[n]));
            }
        }
        return worst;
    }

    @Test
    void everyPlantedMistakeComputesWhatTheMistakeComputes() {
        Shape[] shapes = {new Shape(2, 7, 4, 2, 3), new Shape(1, 9, 6, 3, 2), new Shape(1, 5, 1, 1, 4)};
        int[] windows = {3, 2, 1};
        int checked = 0;
        for (Mistake m : Mistake.values()) {
            if (SPEC2.contains(m)) {
                checked++;   // segments only: everySegmentMistakeComputesWhatTheMistakeComputes
                continue;
            }
            double largestEffect = 0;   // how far the mistake moves some output: the comparison is not vacuous
            for (int t = 0; t < shapes.length; t++) {
                Shape sh = shapes[t];
                for (Estimator est : Estimator.values()) {
                    AttentionInputs in = inputs(31L * t + est.ordinal(), sh, windows[t], est);
                    double[] dO = TestCases.uniform(new Random(t), sh.qSize(), 1.0);
                    int[] all = RowsComputation.allRows(sh);
                    RowsOutputs got = m.predict(in, all, dO, REF);
                    if (m == Mistake.WINDOW_MINUS_ONE && windows[t] == 1) {
                        assertThat(got).as("w - 1 = 0 is no window").isNull();
                        continue;
                    }
                    MistakeOracle x = oracleOf(m);
                    if (m == Mistake.SCALE_ONE_OVER_D) {
                        x.scale = 1.0 / sh.headDim();
                    }
                    x.run(in, dO);
                    String at = m.id() + " " + sh + " w=" + windows[t] + " " + est;
                    close(at, got, x);
                    MistakeOracle right = new MistakeOracle().run(in, dO);
                    if (!m.canShowOn(in)) {
                        for (double[][] pair : new double[][][] {{x.o, right.o}, {x.lse, right.lse}, {x.dq, right.dq},
                            {x.dk, right.dk}, {x.dv, right.dv}, {x.dA, right.dA}}) {
                            assertThat(ErrorMeasures.normwiseRelative(pair[0], pair[1])).as(at + " silent")
                                    .isLessThanOrEqualTo(1e-13);
                        }
                    }
                    for (double e : new double[] {ErrorMeasures.normwiseRelative(x.o, right.o),
                        ErrorMeasures.normwiseRelative(x.lse, right.lse),
                        ErrorMeasures.normwiseRelative(x.dq, right.dq), ErrorMeasures.normwiseRelative(x.dk, right.dk),
                        ErrorMeasures.normwiseRelative(x.dA, right.dA), worstElementRelative(x.dA, right.dA)}) {
                        largestEffect = Math.max(largestEffect, e);
                    }
                }
            }
            assertThat(largestEffect).as("%s changes some output", m.id()).isGreaterThan(1e-3);
            checked++;
        }
        assertThat(checked).isEqualTo(Mistake.values().length).isEqualTo(14);
    }

    /** The spec 2.0 entries, which only show on segment tables. */
    static final java.util.Set<Mistake> SPEC2 = java.util.EnumSet.of(Mistake.TOP_LEFT, Mistake.CROSSING_SEGMENTS);

    /** Inputs on a segment table; key rows outside every segment hold arbitrary finite values. */
    static AttentionInputs segmentInputs(long seed, Shape sh, org.swiattn.spec.Segments seg, int w, Estimator est) {
        Random rnd = new Random(seed);
        double[] a = TestCases.uniform(rnd, sh.rows(), 3.0);
        return AttentionInputs.builder(sh).q(TestCases.uniform(rnd, sh.qSize(), 1.5))
                .k(TestCases.uniform(rnd, sh.kvSize(), 1.5)).v(TestCases.uniform(rnd, sh.kvSize(), 1.0)).window(w)
                .route(Route.ofLogits(sh.batch(), sh.seqLen(), a)).estimator(est).segments(seg).build();
    }

    @Test
    void everySegmentMistakeComputesWhatTheMistakeComputes() {
        Shape packed = new Shape(1, 10, 4, 2, 3, 14);
        Shape cache = new Shape(2, 3, 4, 2, 3, 6);
        Shape gaps = new Shape(1, 6, 2, 1, 2, 12);
        org.swiattn.spec.Segments[] tables = {
            org.swiattn.spec.Segments.packed(packed, new int[] {0, 3, 7, 10}, new int[] {0, 5, 9, 14}),
            org.swiattn.spec.Segments.kvCache(cache, new int[] {5, 6}),
            org.swiattn.spec.Segments.of(gaps, new int[] {0, 2}, new int[] {2, 4}, new int[] {0, 6},
                    new int[] {4, 5})};
        Shape[] shapes = {packed, cache, gaps};
        int planted = 0;
        for (Mistake m : SPEC2) {
            for (int t = 0; t < tables.length; t++) {
                org.swiattn.spec.Segments seg = tables[t];
                for (int w : new int[] {2, 3}) {
                    for (Estimator est : Estimator.values()) {
                        AttentionInputs in = segmentInputs(7L * t + w + est.ordinal(), shapes[t], seg, w, est);
                        double[] dO = TestCases.uniform(new Random(t), shapes[t].qSize(), 1.0);
                        RowsOutputs got = m.predict(in, RowsComputation.allRows(shapes[t]), dO, REF);
                        boolean[] zero = new boolean[shapes[t].kvRows()];
                        MistakeOracle.Keys keys;
                        if (m == Mistake.TOP_LEFT) {
                            // position = index of the query within its segment
                            keys = new MistakeOracle.Keys() {
                                public int last(int r) {
                                    return seg.keyStart(r) + r - seg.qStart(seg.segmentOf(r));
                                }

                                public int first(int r, boolean full) {
                                    return full ? seg.keyStart(r) : Math.max(seg.keyStart(r), last(r) - w + 1);
                                }
                            };
                        } else {
                            // from the first key of the batch row, unused key rows read as zeros
                            int sk = shapes[t].kvSeqLen();
                            for (int kr = 0; kr < zero.length; kr++) {
                                zero[kr] = !seg.keyRowUsed(kr);
                            }
                            keys = new MistakeOracle.Keys() {
                                public int last(int r) {
                                    return seg.keyStart(r) + seg.position(r);
                                }

                                public int first(int r, boolean full) {
                                    int b = seg.keyStart(r) / sk;
                                    int from = seg.keyStart(r);
                                    for (int s = 0; s < seg.count(); s++) {
                                        if (seg.kStart(s) / sk == b) {
                                            from = Math.min(from, seg.kStart(s));
                                        }
                                    }
                                    return full ? from : Math.max(from, last(r) - w + 1);
                                }
                            };
                        }
                        MistakeOracle x = new MistakeOracle();
                        x.keys = keys;
                        x.zero = zero;
                        x.run(in, dO);
                        String at = m.id() + " table " + t + " w=" + w + " " + est;
                        boolean shows = m.canShowOn(in);
                        assertThat(shows).as(at + " shows").isEqualTo(!(m == Mistake.CROSSING_SEGMENTS && t == 1));
                        if (!shows) {
                            continue;   // kvCache: one segment per batch row, nothing to cross
                        }
                        close(at, got, x);
                        double[] right = REF.forwardRows(in, RowsComputation.allRows(shapes[t])).o();
                        assertThat(ErrorMeasures.normwiseRelative(x.o, right)).as(at + " effect").isGreaterThan(1e-3);
                        planted++;
                    }
                }
            }
        }
        assertThat(planted).isEqualTo(3 * 8 + 2 * 8);   // (2 windows x 4 estimators) on 3 tables, 2 tables
    }

    @Test
    void plantedAtRowsEqualsThePlantedWholeRestrictedToThoseRows() {
        Shape sh = new Shape(2, 7, 4, 2, 3);
        int[] rows = {0, 3, 6, 7, 12, 13};
        for (Mistake m : Mistake.values()) {
            if (SPEC2.contains(m)) {
                continue;   // cannot show on self-attention
            }
            for (Estimator est : Estimator.values()) {
                AttentionInputs in = inputs(5 + est.ordinal(), sh, 3, est);
                int hd = sh.qHeads() * sh.headDim();
                double[] dORows = TestCases.uniform(new Random(9), rows.length * hd, 1.0);
                double[] dO = new double[sh.qSize()];
                for (int n = 0; n < rows.length; n++) {
                    System.arraycopy(dORows, n * hd, dO, rows[n] * hd, hd);
                }
                RowsOutputs whole = m.predict(in, RowsComputation.allRows(sh), dO, REF);
                RowsOutputs part = m.predict(in, rows, dORows, REF);
                String at = m.id() + " " + est;
                int kvd = sh.kvHeads() * sh.headDim();
                close(at + " o", part.forward().o(), RowsComputation.gather(whole.forward().o(), rows, hd));
                close(at + " lse", part.forward().lse(), RowsComputation.gather(whole.forward().lse(), rows,
                        sh.qHeads()));
                close(at + " dq", part.gradients().dq(), RowsComputation.gather(whole.gradients().dq(), rows, hd));
                close(at + " dk", part.gradients().dk(), RowsComputation.gather(whole.gradients().dk(), rows, kvd));
                close(at + " dv", part.gradients().dv(), RowsComputation.gather(whole.gradients().dv(), rows, kvd));
                // dA at the rows: route-per-head attributes a row's gradient to the logit its heads read, which may
                // lie outside the rows; the whole run has all of them
                if (m != Mistake.ROUTE_PER_HEAD) {
                    close(at + " dA", part.gradients().dA(), RowsComputation.gather(whole.gradients().dA(), rows, 1));
                }
            }
        }
    }

    @Test
    void theSubtractionMistakeMattersOnlyWhenPIsNearOne() {
        // a = 36: 1 - fl(p) has lost all but a few bits; a = -36: p(1-p) ~ p, exact
        Shape sh = new Shape(1, 2, 1, 1, 2);
        for (double a : new double[] {36.0, -36.0}) {
            AttentionInputs in = AttentionInputs.builder(sh).q(new double[] {1, 0, 0, 1}).k(new double[] {1, 1, 0, 1})
                    .v(new double[] {1, 2, 3, 4}).window(1).route(Route.ofLogits(1, 2, new double[] {a, a}))
                    .estimator(Estimator.STRAIGHT_THROUGH).build();
            double[] dO = {1, 1, 1, 1};
            int[] all = {0, 1};
            double right = Mistake.LSE_LOG2.predict(in, all, dO, REF).gradients().dA()[1];
            double wrong = Mistake.ROUTER_GRADIENT_SUBTRACTION.predict(in, all, dO, REF).gradients().dA()[1];
            double relative = Math.abs(wrong - right) / Math.abs(right);
            if (a > 0) {
                assertThat(relative).isGreaterThan(1e-3);
            } else {
                assertThat(relative).isLessThan(1e-15);
            }
        }
    }

    @Test
    void theSpecTableListsExactlyTheCatalogue() throws java.io.IOException {
        String spec = java.nio.file.Files.readString(java.nio.file.Path.of("..", "spec", "SPEC.md"));
        int start = spec.indexOf("### 10.1 ");
        String section = spec.substring(start, spec.indexOf("\n### ", start + 1));
        java.util.Set<String> listed = new java.util.TreeSet<>();
        java.util.regex.Matcher row = java.util.regex.Pattern.compile("(?m)^\\| `([a-z0-9-]+)` \\|").matcher(section);
        while (row.find()) {
            listed.add(row.group(1));
        }
        java.util.Set<String> ids = new java.util.TreeSet<>();
        for (Mistake m : Mistake.values()) {
            ids.add(m.id());
        }
        assertThat(listed).isEqualTo(ids);
    }

    @Test
    void theSubtractionIsPlantedInTheCandidatesArithmetic() {
        // a = 20: fl32(p) = 1, so an fp32 (or bf16) candidate's 1 - fl(p) is 0; in fp64 it keeps 8 digits
        Shape sh = new Shape(1, 1, 1, 1, 2);
        AttentionInputs in = AttentionInputs.builder(sh).q(new double[] {1, 0}).k(new double[] {1, 1})
                .v(new double[] {1, 2}).window(1).route(Route.ofLogits(1, 1, new double[] {20.0}))
                .estimator(Estimator.SELECTED_BRANCH).build();
        double[] dO = {1, 1};
        int[] all = {0};
        double right = Mistake.LSE_LOG2.predict(in, all, dO, REF).gradients().dA()[0];
        Mistake m = Mistake.ROUTER_GRADIENT_SUBTRACTION;
        assertThat(m.precisionDependent()).isTrue();
        assertThat(m.predict(in, all, dO, REF, org.swiattn.spec.Precision.FP32).gradients().dA()[0]).isZero();
        assertThat(m.predict(in, all, dO, REF, org.swiattn.spec.Precision.BF16).gradients().dA()[0]).isZero();
        double fp64 = m.predict(in, all, dO, REF).gradients().dA()[0];
        assertThat(right).isNotZero();
        assertThat(Math.abs(fp64 - right) / Math.abs(right)).isGreaterThan(1e-12).isLessThan(1e-6);
        for (Mistake other : Mistake.values()) {
            assertThat(other.precisionDependent()).isEqualTo(other == m);
        }
    }

    @Test
    void idsAreStableAndFound() {
        assertThat(IntStream.range(0, Mistake.values().length).mapToObj(n -> Mistake.values()[n].id()).distinct()
                .count()).isEqualTo(Mistake.values().length);
        for (Mistake m : Mistake.values()) {
            assertThat(Mistake.byId(m.id())).isSameAs(m);
            assertThat(m.id()).matches("[a-z0-9-]+");
            assertThat(m.what()).isNotBlank();
            assertThat(m.cause()).isNotBlank();
        }
        assertThat(Mistake.byId("no-such-mistake")).isNull();
    }
}
