package org.swiattn.reference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * The generalised call (spec 2.0 segments) in the reference module: decode against a KV cache, chunked prefill,
 * packed batches. Each form is compared with the self-attention prefill it is an instance of, bit for bit where
 * the reference visits the same keys in the same order, and with the Dfp oracle.
 */
class SegmentedCallsTest {
    private static final int HQ = 4;
    private static final int HKV = 2;
    private static final int D = 5;
    private static final int W = 6;

    private final ReferenceAttention ref = new ReferenceAttention();

    /** The implementations whose segment results must equal their prefill results bit for bit. */
    private static List<SwitchAttention> exactImplementations() {
        return List.of(new ReferenceAttention(), new ReferenceAttention(false), new PlainAttention(),
                new NaiveAttention(Precision.FP64), new NaiveAttention(Precision.BF16));
    }

    @Test
    void everyImplementationHereSupportsSegments() {
        for (SwitchAttention a : exactImplementations()) {
            assertThat(a.supportsSegments()).as(a.name()).isTrue();
        }
    }

    /**
     * A decode batch of sequences of cache lengths 1, 5 (< w), 6 (= w), 7 (= w+1) and 20, each the prefix of one
     * prefill sequence, the new token's query the prefix's last row; cache slots beyond each length hold NaN.
     * Every output row equals row t = len-1 of the prefill, and the decode backward equals the prefill backward
     * whose dO is that row's, on every cached key.
     */
    @Test
    void decodeStepEqualsRowTOfThePrefill() {
        int[] lens = {1, 5, 6, 7, 20};
        int cap = 24;
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            Shape pre = new Shape(1, 20, HQ, HKV, D);
            AttentionInputs prefill = TestCases.random(61 + est.ordinal(), pre, W, est);
            Shape dec = new Shape(lens.length, 1, HQ, HKV, D, cap);
            AttentionInputs decode = decodeFrom(prefill, lens, dec, Double.NaN);
            double[] dODec = TestCases.uniform(new Random(3), dec.qSize(), 1);
            for (SwitchAttention a : exactImplementations()) {
                ForwardResult whole = a.forward(prefill);
                ForwardResult step = a.forward(decode);
                RowsResult rowsT = RowsResult.extract(whole, lastRows(lens));
                assertBits(step.o(), rowsT.o(), a.name() + " " + est + " o");
                assertBits(step.lse(), rowsT.lse(), a.name() + " " + est + " lse");
                BackwardResult g = a.backward(decode, dODec);
                for (int b = 0; b < lens.length; b++) {
                    int t = lens[b] - 1;
                    double[] dO = new double[pre.qSize()];
                    System.arraycopy(dODec, dec.qRowOffset(b, 0), dO, pre.qRowOffset(t, 0), HQ * D);
                    BackwardResult gp = a.backward(prefill, dO);
                    String what = a.name() + " " + est + " sequence " + b;
                    assertBits(slice(g.dq(), b, 1, HQ * D), slice(gp.dq(), t, 1, HQ * D), what + " dq");
                    assertBits(slice(g.dk(), b * cap, lens[b], HKV * D), slice(gp.dk(), 0, lens[b], HKV * D),
                            what + " dk");
                    assertBits(slice(g.dv(), b * cap, lens[b], HKV * D), slice(gp.dv(), 0, lens[b], HKV * D),
                            what + " dv");
                    assertBits(new double[] {g.dRouterLogit()[b]}, new double[] {gp.dRouterLogit()[t]},
                            what + " dA");
                    // cache slots beyond the length: exactly zero gradients, though they hold NaN
                    assertThat(slice(g.dk(), b * cap + lens[b], cap - lens[b], HKV * D)).as(what).containsOnly(0.0);
                    assertThat(slice(g.dv(), b * cap + lens[b], cap - lens[b], HKV * D)).as(what).containsOnly(0.0);
                }
                checked++;
            }
        }
        assertThat(checked).isEqualTo(Estimator.values().length * exactImplementations().size());
    }

    /**
     * Chunked prefill over several splits, chunk boundaries at the window edge included: the chunk's rows equal
     * the one-shot rows bit for bit, forward and backward (dK, dV of every key the chunk reads, cached or new).
     */
    @Test
    void chunkedPrefillEqualsTheOneShotRowsBitForBit() {
        int s = 17;
        int[][] chunks = {{0, 4}, {4, 1}, {5, 1}, {6, 6}, {12, 5}, {0, 17}};   // (offset c, length L)
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            AttentionInputs oneShot = TestCases.random(71 + est.ordinal(), new Shape(1, s, HQ, HKV, D), W, est);
            double[] dOAll = TestCases.uniform(new Random(9), oneShot.shape().qSize(), 1);
            for (int[] ch : chunks) {
                int c = ch[0];
                int len = ch[1];
                Shape sh = new Shape(1, len, HQ, HKV, D, c + len);
                AttentionInputs chunk = chunkOf(oneShot, c, len, sh, Segments.bottomRight(sh));
                int[] rows = range(c, len);
                int[] keys = range(0, c + len);
                double[] dO = slice(dOAll, c, len, HQ * D);
                RowsResult want = ref.forwardRows(oneShot, rows);
                ForwardResult got = ref.forward(chunk);
                String what = est + " chunk " + c + "+" + len;
                assertBits(got.o(), want.o(), what + " o");
                assertBits(got.lse(), want.lse(), what + " lse");
                RowGradients wantG = ref.backwardRows(oneShot, rows, dO, keys);
                BackwardResult gotG = ref.backward(chunk, dO);
                assertBits(gotG.dq(), wantG.dq(), what + " dq");
                assertBits(gotG.dk(), wantG.dk(), what + " dk");
                assertBits(gotG.dv(), wantG.dv(), what + " dv");
                assertBits(gotG.dRouterLogit(), wantG.dA(), what + " dA");
                checked++;
            }
        }
        assertThat(checked).isEqualTo(Estimator.values().length * chunks.length);
    }

    /**
     * A packed batch (segments of 5, 1, 9 and 3 rows, w = 6 larger than three of them) equals its segments run
     * one by one as self-attention, forward and backward, bit for bit; so do a packed varlen batch whose queries
     * are the last rows of longer key segments, and a batch whose segment spans two batch rows.
     */
    @Test
    void packedBatchEqualsItsSegmentsOneByOne() {
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            for (int layout = 0; layout < 3; layout++) {
                // 0: packed self-attention, B = 1; 1: varlen with fewer queries than keys (one segment without
                // queries); 2: B = 2 with a segment of 6 rows spanning both batch rows of S = 5
                boolean self = layout != 1;
                int[] cuQ = layout == 0 ? new int[] {0, 5, 6, 15, 18} : layout == 1 ? new int[] {0, 2, 3, 3, 7}
                        : new int[] {0, 3, 9, 10};
                int[] cuK = self ? cuQ : new int[] {0, 5, 6, 10, 17};
                Shape sh = layout == 2 ? new Shape(2, 5, HQ, HKV, D)
                        : new Shape(1, cuQ[cuQ.length - 1], HQ, HKV, D, cuK[cuK.length - 1]);
                Segments seg = self ? Segments.packedSelf(sh, cuQ) : Segments.packed(sh, cuQ, cuK);
                AttentionInputs packed = TestCases.random(81 + est.ordinal(), sh, seg, W, est, 0.0);
                double[] dO = TestCases.uniform(new Random(11), sh.qSize(), 1);
                for (SwitchAttention a : exactImplementations()) {
                    ForwardResult f = a.forward(packed);
                    BackwardResult g = a.backward(packed, dO);
                    for (int s = 0; s < seg.count(); s++) {
                        int nq = seg.qLen(s);
                        int nk = seg.kLen(s);
                        Shape one = new Shape(1, nq == 0 ? 1 : nq, HQ, HKV, D, nk == 0 ? 1 : nk);
                        String what = a.name() + " " + est + " layout " + layout + " segment " + s;
                        if (nq == 0) {
                            // a segment without queries: its keys are read by nobody
                            assertThat(slice(g.dk(), seg.kStart(s), nk, HKV * D)).as(what).containsOnly(0.0);
                            continue;
                        }
                        AttentionInputs alone = segmentOf(packed, s, one);
                        ForwardResult fa = a.forward(alone);
                        BackwardResult ga = a.backward(alone, slice(dO, seg.qStart(s), nq, HQ * D));
                        assertBits(slice(f.o(), seg.qStart(s), nq, HQ * D), fa.o(), what + " o");
                        assertBits(slice(f.lse(), seg.qStart(s), nq, HQ), fa.lse(), what + " lse");
                        assertBits(slice(g.dq(), seg.qStart(s), nq, HQ * D), ga.dq(), what + " dq");
                        assertBits(slice(g.dk(), seg.kStart(s), nk, HKV * D), ga.dk(), what + " dk");
                        assertBits(slice(g.dv(), seg.kStart(s), nk, HKV * D), ga.dv(), what + " dv");
                        assertBits(slice(g.dRouterLogit(), seg.qStart(s), nq, 1), ga.dRouterLogit(), what + " dA");
                    }
                    checked++;
                }
            }
        }
        assertThat(checked).isEqualTo(3 * Estimator.values().length * exactImplementations().size());
    }

    /**
     * Values in cache slots beyond each sequence's length never matter: NaN, 0 and 1e300 there give the same
     * bits in every result of every implementation and tolerance tensor, and their dK, dV are exactly 0.
     */
    @Test
    void unusedCacheSlotsHoldingNanDoNotMatter() {
        Shape sh = new Shape(3, 3, HQ, HKV, D, 11);
        Segments seg = Segments.kvCache(sh, new int[] {3, 7, 11});
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            AttentionInputs nan = TestCases.random(91 + est.ordinal(), sh, seg, W, est, Double.NaN);
            double[] dO = TestCases.uniform(new Random(13), sh.qSize(), 1);
            for (double other : new double[] {0.0, 1e300}) {
                AttentionInputs filled = TestCases.fillUnusedKeys(nan, other);
                for (SwitchAttention a : exactImplementations()) {
                    String what = a.name() + " " + est + " unused = " + other;
                    ForwardResult f = a.forward(nan);
                    assertBits(f.o(), a.forward(filled).o(), what + " o");
                    BackwardResult g = a.backward(nan, dO);
                    BackwardResult g2 = a.backward(filled, dO);
                    assertBits(g.dq(), g2.dq(), what + " dq");
                    assertBits(g.dk(), g2.dk(), what + " dk");
                    assertBits(g.dRouterLogit(), g2.dRouterLogit(), what + " dA");
                    assertThat(slice(g.dv(), 3, 8, HKV * D)).as(what).containsOnly(0.0);     // batch 0: 3..10
                    assertThat(slice(g.dk(), 11 + 7, 4, HKV * D)).as(what).containsOnly(0.0); // batch 1: 7..10
                    checked++;
                }
                TermMagnitudes t = TermMagnitudes.of(nan, dO);
                TermMagnitudes t2 = TermMagnitudes.of(filled, dO);
                assertBits(t.o(), t2.o(), est + " T_O");
                assertBits(t.dk(), t2.dk(), est + " T_dK");
                assertThat(ScoreMagnitude.max(nan)).isEqualTo(ScoreMagnitude.max(filled));
            }
        }
        assertThat(checked).isEqualTo(2 * Estimator.values().length * exactImplementations().size());
    }

    /**
     * Against the 40-digit oracle on decode, chunked and packed tables: the reference stays within a few ulps
     * (normwise 1e-15), the plain definition, the naive fp64 and the matrix form within plain fp64 rounding.
     */
    @Test
    void agreesWithTheDfpOracleOnEverySegmentForm() {
        DfpOracle oracle = new DfpOracle();
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            for (AttentionInputs in : segmentForms(101 + est.ordinal(), est)) {
                ForwardResult exact = oracle.forward(in);
                String what = est + " " + in.segments();
                ForwardResult r = ref.forward(in);
                assertThat(ErrorMeasures.normwiseRelative(r.o(), exact.o())).as(what).isLessThan(1e-15);
                assertThat(ErrorMeasures.normwiseRelative(r.lse(), exact.lse())).as(what).isLessThan(1e-15);
                for (ForwardResult other : new ForwardResult[] {new PlainAttention().forward(in),
                    new NaiveAttention(Precision.FP64).forward(in), new MatrixAttention().forward(in)}) {
                    assertThat(ErrorMeasures.normwiseRelative(other.o(), exact.o())).as(what).isLessThan(1e-13);
                    assertThat(ErrorMeasures.normwiseRelative(other.lse(), exact.lse())).as(what).isLessThan(1e-13);
                }
                checked++;
            }
        }
        assertThat(checked).isEqualTo(3 * Estimator.values().length);
    }

    /** The gradients of the generalised call against central differences of {@code <dO, O>}, cached keys included. */
    @Test
    void gradientsMatchCentralDifferencesOnEverySegmentForm() {
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            for (AttentionInputs in : segmentForms(111 + est.ordinal(), est)) {
                double[] dO = TestCases.uniform(new Random(est.ordinal()), in.shape().qSize(), 1);
                CentralDifferences.check(in, dO, est + " " + in.segments());
                checked++;
            }
        }
        assertThat(checked).isEqualTo(3 * Estimator.values().length);
    }

    /** Term magnitudes bound the reference's values elementwise on every segment form: T >= |exact|. */
    @Test
    void termMagnitudesBoundTheValuesOnEverySegmentForm() {
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            for (AttentionInputs in : segmentForms(121 + est.ordinal(), est)) {
                double[] dO = TestCases.uniform(new Random(5), in.shape().qSize(), 1);
                ForwardResult f = ref.forward(in);
                BackwardResult g = ref.backward(in, dO);
                TermMagnitudes t = TermMagnitudes.of(in, dO);
                String what = est + " " + in.segments();
                assertDominates(t.o(), f.o(), what + " o");
                assertDominates(t.lse(), f.lse(), what + " lse");
                assertDominates(t.dq(), g.dq(), what + " dq");
                assertDominates(t.dk(), g.dk(), what + " dk");
                assertDominates(t.dv(), g.dv(), what + " dv");
                assertDominates(t.dRouterLogit(), g.dRouterLogit(), what + " dA");
                checked++;
            }
        }
        assertThat(checked).isEqualTo(3 * Estimator.values().length);
    }

    // ------------------------------------------------------------------------------------------------ inputs

    /** A decode batch with NaN cache slots, a chunk in a padded cache, and a packed varlen batch. */
    private static List<AttentionInputs> segmentForms(long seed, Estimator est) {
        Shape dec = new Shape(3, 1, HQ, HKV, D, 9);
        Shape chunk = new Shape(2, 3, HQ, HKV, D, 10);
        Shape packed = new Shape(1, 7, HQ, HKV, D, 13);
        return List.of(
                TestCases.random(seed, dec, Segments.kvCache(dec, new int[] {2, 9, 7}), 3, est, Double.NaN),
                TestCases.random(seed + 1, chunk, Segments.kvCache(chunk, new int[] {8, 4}), 3, est, Double.NaN),
                TestCases.random(seed + 2, packed, Segments.packed(packed, new int[] {0, 1, 4, 7},
                        new int[] {0, 3, 8, 13}), 3, est, 0.0));
    }

    /** Decode inputs [B = lens.length, Sq = 1, Sk = cap] from a one-sequence prefill: sequence b = prefix lens[b]. */
    private static AttentionInputs decodeFrom(AttentionInputs prefill, int[] lens, Shape dec, double unused) {
        Shape pre = prefill.shape();
        int qd = HQ * D;
        int kvd = HKV * D;
        double[] q = new double[dec.qSize()];
        double[] k = new double[dec.kvSize()];
        double[] v = new double[dec.kvSize()];
        double[] logits = new double[dec.rows()];
        for (int b = 0; b < lens.length; b++) {
            int t = lens[b] - 1;
            System.arraycopy(prefill.q(), pre.qRowOffset(t, 0), q, dec.qRowOffset(b, 0), qd);
            System.arraycopy(prefill.k(), 0, k, dec.kvRowOffset(b * dec.kvSeqLen(), 0), lens[b] * kvd);
            System.arraycopy(prefill.v(), 0, v, dec.kvRowOffset(b * dec.kvSeqLen(), 0), lens[b] * kvd);
            logits[b] = prefill.route().logit(t);
        }
        AttentionInputs in = like(prefill, dec).q(q).k(k).v(v)
                .route(Route.ofLogits(dec.batch(), 1, logits)).segments(Segments.kvCache(dec, lens)).build();
        return TestCases.fillUnusedKeys(in, unused);
    }

    /** Rows c .. c+len-1 of a one-sequence prefill as a chunk against keys 0 .. c+len-1. */
    private static AttentionInputs chunkOf(AttentionInputs in, int c, int len, Shape sh, Segments seg) {
        double[] logits = slice(in.route().logits(), c, len, 1);
        return like(in, sh).q(slice(in.q(), c, len, HQ * D)).k(slice(in.k(), 0, c + len, HKV * D))
                .v(slice(in.v(), 0, c + len, HKV * D)).route(Route.ofLogits(1, len, logits)).segments(seg).build();
    }

    /** Segment s of a packed batch as a call of its own (bottom-right aligned, B = 1). */
    private static AttentionInputs segmentOf(AttentionInputs packed, int s, Shape one) {
        Segments seg = packed.segments();
        int nq = seg.qLen(s);
        int nk = seg.kLen(s);
        double[] logits = slice(packed.route().logits(), seg.qStart(s), nq, 1);
        return like(packed, one).q(slice(packed.q(), seg.qStart(s), nq, HQ * D))
                .k(slice(packed.k(), seg.kStart(s), nk, HKV * D)).v(slice(packed.v(), seg.kStart(s), nk, HKV * D))
                .route(Route.ofLogits(1, nq, logits)).segments(Segments.bottomRight(one)).build();
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** A builder for another shape with the window, scale and estimator of {@code in}. */
    private static AttentionInputs.Builder like(AttentionInputs in, Shape sh) {
        return AttentionInputs.builder(sh).window(in.window()).scale(in.scale()).estimator(in.estimator());
    }

    /** Rows [from, from + n) of a row-major tensor with rows of {@code width} elements. */
    private static double[] slice(double[] x, int from, int n, int width) {
        double[] out = new double[n * width];
        System.arraycopy(x, from * width, out, 0, n * width);
        return out;
    }

    private static int[] range(int from, int n) {
        return java.util.stream.IntStream.range(from, from + n).toArray();
    }

    private static int[] lastRows(int[] lens) {
        int[] rows = new int[lens.length];
        for (int b = 0; b < lens.length; b++) {
            rows[b] = lens[b] - 1;
        }
        return rows;
    }

    /** Equal values (+0.0 and -0.0 count as equal). */
    private static void assertBits(double[] got, double[] want, String what) {
        BackwardRowsTest.assertEqualValues(got, want, what);
    }

    /** {@code t[n] >= |x[n]|} up to one part in 1e12 (T is itself computed in plain fp64). */
    private static void assertDominates(double[] t, double[] x, String what) {
        assertThat(t).as(what).hasSameSizeAs(x);
        for (int n = 0; n < t.length; n++) {
            if (!(t[n] * (1 + 1e-12) + 1e-300 >= Math.abs(x[n]))) {
                throw new AssertionError(what + ": T[" + n + "] = " + t[n] + " < |value| = " + Math.abs(x[n]));
            }
        }
    }
}
