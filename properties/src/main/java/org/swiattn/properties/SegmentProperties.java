package org.swiattn.properties;

import java.util.SplittableRandom;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import org.swiattn.reference.TermMagnitudes;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * The spec 2.0 properties (SPEC.md section 2.1, {@link Segments}): chunked prefill, decode against a KV cache and
 * packed variable-length batches compute exactly what the one-shot prefill and the segments run one by one
 * compute, nothing crosses a segment, and cache slots beyond a sequence's length never matter.
 *
 * <pre>
 *   property                                        compares                                      generator
 *   chunked prefill = rows of the one-shot prefill  O, LSE of every chunk                         chunkedPrefills
 *   chunked prefill gradients add up                dQ, dRouterLogit rows; sum of the chunks' dK,  chunkedPrefills
 *                                                   dV (0 beyond each chunk's cache length)
 *   decode step t = row t of the prefill            O, LSE of each sequence's new token           decodeSteps
 *   packed batch = its segments one by one          O, LSE, dQ, dK, dV, dRouterLogit; dK, dV = 0  packedCases
 *                                                   on key rows no query reads
 *   nothing crosses a segment                       one segment's outputs and gradients when the  multiSegmentCases
 *                                                   others' q, k, v, logits and dO change
 *   cache slots beyond a length never matter        everything, NaN / Inf / 1e300 there vs other  unusedKeyRowCases
 *                                                   values; dK, dV exactly 0 there
 *   forwardRows = rows of forward                   O, LSE                                        packedCases
 * </pre>
 * They run only where {@link org.swiattn.spec.SwitchAttention#supportsSegments()} answers true; elsewhere each is
 * skipped with that reason ({@link SegmentsSupported}). {@link SegmentValidationProperties} checks the metadata's
 * validation, and that an implementation answering false refuses these inputs.
 *
 * <p>Every comparison is of the implementation with itself. Where {@link #segmentsBitExact()} answers true (the
 * reference: each row is computed from its visible keys alone, in an order that does not depend on the rest of the
 * call) the two sides must hold the same doubles; otherwise they may differ by the sum of the two sides' bounds
 * ({@link #selfBounds}), measured with the term tensors of the rows compared. Sums of gradients over chunks are
 * always compared within the bounds (their order of summation differs). Exact zeros are required of every
 * implementation where the spec says exactly 0.
 */
public abstract class SegmentProperties extends AttentionPropertiesBase {

    /**
     * Whether the implementation computes the equivalences of this class bit for bit (each query row from its
     * visible keys alone, in the same order whatever else the call holds, and each key's gradient summed over its
     * queries in order). Default false: the two sides may differ within the bounds of the implementation's
     * precision.
     */
    protected boolean segmentsBitExact() {
        return false;
    }

    // ----------------------------------------------------------------------------------------------------------
    // comparisons

    /**
     * Compares the rows of two forward results: actual's rows {@code actualRows} (null: all) with expected's rows
     * {@code expectedRows} (null: all), O and LSE; the same doubles, or within the pair's bounds with the term
     * tensors of expected's rows.
     *
     * @param actualRows   flat query rows of actual; not modified
     * @param expectedRows flat query rows of expected, as many; not modified
     */
    void sameRows(String what, ForwardResult actual, int[] actualRows, AttentionInputs actualIn,
                  ForwardResult expected, int[] expectedRows, AttentionInputs expectedIn, Object context) {
        what = what.endsWith(": ") ? what.substring(0, what.length() - 2) : what;
        int qw = SegmentSlices.qWidth(expected.shape());
        int hq = expected.shape().qHeads();
        double[] ao = pick(actual.o(), qw, actualRows);
        double[] al = pick(actual.lse(), hq, actualRows);
        double[] eo = pick(expected.o(), qw, expectedRows);
        double[] el = pick(expected.lse(), hq, expectedRows);
        if (segmentsBitExact()) {
            Checks.identical(what + ": O", ao, eo, context);
            Checks.identical(what + ": LSE", al, el, context);
            return;
        }
        ForwardBounds b = selfBounds(actualIn, expectedIn);
        TermMagnitudes t = forwardTerms(expectedIn);
        Checks.close(what + ": O", ao, eo, b.o(), Checks.norm(pick(t.o(), qw, expectedRows)), context);
        Checks.lseClose(what + ": LSE", al, el, b.lse(), Checks.norm(pick(t.lse(), hq, expectedRows)), context);
    }

    /** x's rows, or x itself when rows is null. @param x not modified @param rows not modified */
    private static double[] pick(double[] x, int width, int[] rows) {
        return rows == null ? x : SegmentSlices.gather(x, width, rows);
    }

    /**
     * Compares one gradient tensor (or some of its rows) of two related calls: the same doubles, or within
     * {@code bound} relative to max(||expected||, termNorm).
     *
     * @param actual   not modified
     * @param expected not modified
     */
    void sameGradient(String what, double[] actual, double[] expected, double bound, double termNorm,
                      Object context) {
        if (segmentsBitExact()) {
            Checks.identical(what, actual, expected, context);
        } else {
            Checks.close(what, actual, expected, bound, termNorm, context);
        }
    }

    /** The bounds of a comparison of two backward calls: the sum of their bounds (twice the larger). */
    BackwardBounds pairBounds(AttentionInputs a, double[] dOutA, AttentionInputs b, double[] dOutB) {
        if (segmentsBitExact()) {
            return new BackwardBounds(0, 0, 0, 0);   // unused: the comparisons are exact
        }
        BackwardBounds x = backwardBounds(a, dOutA);
        BackwardBounds y = backwardBounds(b, dOutB);
        return new BackwardBounds(2 * Math.max(x.dq(), y.dq()), 2 * Math.max(x.dk(), y.dk()),
                2 * Math.max(x.dv(), y.dv()), 2 * Math.max(x.dRouterLogit(), y.dRouterLogit()));
    }

    /** The term tensors of a backward call, or null where the comparisons are exact (not needed). */
    TermMagnitudes termsUnlessExact(AttentionInputs in, double[] dOut) {
        return segmentsBitExact() ? null : backwardTerms(in, dOut);
    }

    /** ||rows of x||, 0 when x is null (exact comparisons). @param x not modified */
    private static double normOfRows(double[] x, int width, int from, int n) {
        return x == null ? 0 : Checks.norm(SegmentSlices.rows(x, width, from, n));
    }

    /** Requires every value of a forward or backward result to be finite. */
    private static void finite(String what, Object context, double[]... tensors) {
        for (double[] t : tensors) {
            Checks.that(Tensors.allFinite(t), what + ": a non-finite value", context);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // chunked prefill and decode

    /**
     * A chunked prefill over any split computes the rows of the one-shot prefill: chunk [c0, c1) (queries c0..c1-1
     * against a cache of keys 0..c1-1, bottom-right aligned; a tight cache or a padded one holding the prefill's
     * later keys and then NaN / Inf / 1e300 beyond the length) gives O and LSE of prefill rows c0..c1-1.
     */
    @Property(tries = 120)
    @Label("spec 2.0: a chunked prefill over any split equals the rows of the one-shot prefill")
    void chunkedPrefillEqualsTheRowsOfTheOneShotPrefill(@ForAll("chunkedPrefills") ChunkedPrefill p) {
        SegmentStatistics.collect(p);
        AttentionInputs whole = p.prefill().inputs();
        ForwardResult all = forward(whole);
        for (int n = 0; n < p.count(); n++) {
            AttentionInputs chunk = p.chunk(n);
            sameRows("chunk " + n + " [" + p.start(n) + ", " + p.ends()[n] + ") vs the prefill's rows",
                    forward(chunk), null, chunk, all, p.queryRows(n), whole, p);
        }
        SegmentStatistics.checkChunkCoverage();
    }

    /**
     * The backward pass of a chunked prefill (dO of each chunk = the prefill's dO at its rows): each chunk's dQ and
     * dRouterLogit are the prefill's at its rows, every estimator; its dK, dV are exactly 0 beyond its cache length,
     * and summed over the chunks they are the prefill's dK, dV (each chunk's error relative to its own gradient,
     * plus the storage rounding of each: a bf16 sum of two rounded parts can sit one ulp from the rounded whole).
     */
    @Property(tries = 80)
    @Label("spec 2.0: the gradients of a chunked prefill add up to the prefill's, every estimator")
    void chunkedPrefillGradientsAddUpToThePrefillGradients(@ForAll("chunkedPrefills") ChunkedPrefill p) {
        SegmentStatistics.collect(p);
        CaseStatistics.collectEstimator(p.prefill().estimator());
        AttentionInputs whole = p.prefill().inputs();
        Shape sh = whole.shape();
        int s = sh.seqLen();
        int qw = SegmentSlices.qWidth(sh);
        int kw = SegmentSlices.kvWidth(sh);
        double[] dOut = p.prefill().outputGradient();
        BackwardResult g = backward(whole, dOut);
        double[] dk = new double[sh.kvSize()];
        double[] dv = new double[sh.kvSize()];
        BackwardBounds bw = backwardBounds(whole, dOut);
        TermMagnitudes tw = backwardTerms(whole, dOut);
        // each gradient may miss by its bound relative to its size, and is stored rounded (u per element): the
        // chunks' rounded parts summed meet the prefill's rounded whole within the sum of both
        double u = implementation().precision().storageRoundoff();
        double allowK = bw.dk() * Math.max(Checks.norm(g.dk()), Checks.norm(tw.dk())) + u * Checks.norm(g.dk());
        double allowV = bw.dv() * Math.max(Checks.norm(g.dv()), Checks.norm(tw.dv())) + u * Checks.norm(g.dv());
        for (int n = 0; n < p.count(); n++) {
            AttentionInputs chunk = p.chunk(n);
            int[] rows = p.queryRows(n);
            double[] dOc = SegmentSlices.gather(dOut, qw, rows);
            BackwardResult gc = backward(chunk, dOc);
            BackwardBounds b = pairBounds(whole, dOut, chunk, dOc);
            String what = "chunk " + n + " [" + p.start(n) + ", " + p.ends()[n] + ") vs the prefill: ";
            sameGradient(what + "dQ", gc.dq(), SegmentSlices.gather(g.dq(), qw, rows), b.dq(),
                    Checks.norm(SegmentSlices.gather(tw.dq(), qw, rows)), p);
            sameGradient(what + "dRouterLogit", gc.dRouterLogit(), SegmentSlices.gather(g.dRouterLogit(), 1, rows),
                    b.dRouterLogit(), Checks.norm(SegmentSlices.gather(tw.dRouterLogit(), 1, rows)), p);
            // pass 2: the chunk's keys 0..c1-1 of each sequence add to the prefill's; beyond c1 exactly 0
            int sk = p.cacheRows(n);
            int c1 = p.ends()[n];
            for (int b0 = 0; b0 < sh.batch(); b0++) {
                SegmentSlices.addRows(SegmentSlices.rows(gc.dk(), kw, b0 * sk, c1), dk, kw, b0 * s);
                SegmentSlices.addRows(SegmentSlices.rows(gc.dv(), kw, b0 * sk, c1), dv, kw, b0 * s);
                Checks.zero(what + "dK beyond the cache length", SegmentSlices.rows(gc.dk(), kw, b0 * sk + c1,
                        sk - c1), p);
                Checks.zero(what + "dV beyond the cache length", SegmentSlices.rows(gc.dv(), kw, b0 * sk + c1,
                        sk - c1), p);
            }
            BackwardBounds bc = backwardBounds(chunk, dOc);
            TermMagnitudes tc = backwardTerms(chunk, dOc);
            allowK += bc.dk() * Math.max(Checks.norm(gc.dk()), Checks.norm(tc.dk())) + u * Checks.norm(gc.dk());
            allowV += bc.dv() * Math.max(Checks.norm(gc.dv()), Checks.norm(tc.dv())) + u * Checks.norm(gc.dv());
        }
        Checks.closeWithFloor("dK summed over the chunks vs the prefill's", dk, g.dk(), 0, allowK, p);
        Checks.closeWithFloor("dV summed over the chunks vs the prefill's", dv, g.dv(), 0, allowV, p);
        SegmentStatistics.checkChunkCoverage();
        CaseStatistics.checkEstimatorCoverage();
    }

    /**
     * A decode step at position t (Segments.kvCache, Sq = 1, cache length t + 1, the prefill's later keys and then
     * NaN / Inf / 1e300 in the cache beyond the length) equals row t of the prefill, for a batch of sequences of
     * different lengths, shorter than w, equal to w, one longer, or longer still.
     */
    @Property(tries = 150)
    @Label("spec 2.0: a decode step at position t equals row t of the prefill")
    void decodeStepEqualsTheRowOfThePrefill(@ForAll("decodeSteps") DecodeStep d) {
        SegmentStatistics.collect(d);
        AttentionInputs whole = d.prefill().inputs();
        AttentionInputs step = d.step();
        sameRows("decode step vs the prefill's rows", forward(step), null, step, forward(whole), d.queryRows(),
                whole, d);
        SegmentStatistics.checkDecodeCoverage();
    }

    // ----------------------------------------------------------------------------------------------------------
    // packed batches

    /**
     * A packed batch computes each segment as a call of its own (its queries against its keys, bottom-right
     * aligned, positions restarting at 0): O, LSE, dQ, dRouterLogit at its query rows and dK, dV at its key rows
     * are those of the segment alone, for every layout and estimator; key rows that no query reads (beyond a cache
     * length, in a gap of the table, of a segment without queries) get dK, dV exactly 0; nothing is NaN although
     * those rows may hold NaN. This property also carries the coverage checks of the packed generator.
     */
    @Property(tries = 150)
    @Label("spec 2.0: a packed batch equals its segments run one by one, forward and backward, every estimator")
    void packedBatchEqualsItsSegmentsOneByOne(@ForAll("packedCases") SegmentCase c) {
        SegmentStatistics.collect(c);
        CaseStatistics.collectEstimator(c.estimator());
        AttentionInputs in = c.inputs();
        Segments seg = in.segments();
        Shape sh = in.shape();
        int qw = SegmentSlices.qWidth(sh);
        int kw = SegmentSlices.kvWidth(sh);
        double[] dOut = c.outputGradient();
        ForwardResult f = forward(in);
        BackwardResult g = backward(in, dOut);
        finite("packed call", c, f.o(), f.lse(), g.dq(), g.dk(), g.dv(), g.dRouterLogit());
        boolean[] read = new boolean[sh.kvRows()];
        for (int s = 0; s < seg.count(); s++) {
            if (seg.qLen(s) == 0) {
                continue;   // its keys are read by no query: checked below with the unused rows
            }
            java.util.Arrays.fill(read, seg.kStart(s), seg.kStart(s) + seg.kLen(s), true);
            int q0 = seg.qStart(s);
            int nq = seg.qLen(s);
            int k0 = seg.kStart(s);
            int nk = seg.kLen(s);
            AttentionInputs alone = SegmentSlices.alone(in, s);
            String what = "segment " + s + " alone vs packed: ";
            sameRows(what, forward(alone), null, alone, f, SegmentSlices.range(q0, nq), in, c);
            double[] dOs = SegmentSlices.rows(dOut, qw, q0, nq);
            BackwardResult ga = backward(alone, dOs);
            BackwardBounds b = pairBounds(in, dOut, alone, dOs);
            TermMagnitudes t = termsUnlessExact(alone, dOs);
            sameGradient(what + "dQ", ga.dq(), SegmentSlices.rows(g.dq(), qw, q0, nq), b.dq(),
                    t == null ? 0 : Checks.norm(t.dq()), c);
            sameGradient(what + "dK", ga.dk(), SegmentSlices.rows(g.dk(), kw, k0, nk), b.dk(),
                    t == null ? 0 : Checks.norm(t.dk()), c);
            sameGradient(what + "dV", ga.dv(), SegmentSlices.rows(g.dv(), kw, k0, nk), b.dv(),
                    t == null ? 0 : Checks.norm(t.dv()), c);
            sameGradient(what + "dRouterLogit", ga.dRouterLogit(), SegmentSlices.rows(g.dRouterLogit(), 1, q0, nq),
                    b.dRouterLogit(), t == null ? 0 : Checks.norm(t.dRouterLogit()), c);
        }
        for (int kr = 0; kr < sh.kvRows(); kr++) {
            if (!read[kr]) {
                Checks.zero("dK of key row " + kr + " (read by no query)", SegmentSlices.rows(g.dk(), kw, kr, 1), c);
                Checks.zero("dV of key row " + kr + " (read by no query)", SegmentSlices.rows(g.dv(), kw, kr, 1), c);
            }
        }
        SegmentStatistics.checkPackedCoverage();
        CaseStatistics.checkEstimatorCoverage();
    }

    /**
     * Nothing crosses a segment: replacing q, k, v, the router logits (sign flipped) and dO of every other segment
     * changes neither the outputs nor the gradients of this one (O, LSE, dQ, dRouterLogit at its query rows, dK,
     * dV at its key rows).
     */
    @Property(tries = 120)
    @Label("spec 2.0: nothing crosses a segment (other segments' q, k, v, route, dO change nothing here)")
    void nothingCrossesASegment(@ForAll("multiSegmentCases") SegmentCase c) {
        CaseStatistics.record("layout", c.layout().name());
        AttentionInputs in = c.inputs();
        Segments seg = in.segments();
        Shape sh = in.shape();
        int qw = SegmentSlices.qWidth(sh);
        int kw = SegmentSlices.kvWidth(sh);
        SplittableRandom rnd = c.random(60);
        // pass 1: the segment kept (one with queries), then fresh values everywhere else
        int kept = -1;
        int seen = 0;
        for (int s = 0; s < seg.count(); s++) {
            if (seg.qLen(s) > 0 && rnd.nextInt(++seen) == 0) {
                kept = s;
            }
        }
        double[] q = c.q();
        double[] k = c.k();
        double[] v = c.v();
        double[] a = c.logits();
        double[] dOut = c.outputGradient();
        double[] dOut2 = dOut.clone();
        for (int s = 0; s < seg.count(); s++) {
            if (s == kept) {
                continue;
            }
            for (int r = seg.qStart(s); r < seg.qStart(s) + seg.qLen(s); r++) {
                System.arraycopy(Tensors.uniformBf16(rnd, qw, 2), 0, q, r * qw, qw);
                System.arraycopy(Tensors.uniformBf16(rnd, qw, 2), 0, dOut2, r * qw, qw);
                a[r] = -a[r] + (a[r] == 0 ? 1 : 0);
            }
            for (int kr = seg.kStart(s); kr < seg.kStart(s) + seg.kLen(s); kr++) {
                System.arraycopy(Tensors.uniformBf16(rnd, kw, 2), 0, k, kr * kw, kw);
                System.arraycopy(Tensors.uniformBf16(rnd, kw, 2), 0, v, kr * kw, kw);
            }
        }
        AttentionInputs changed = in.toBuilder().q(q).k(k).v(v).route(Route.ofLogits(sh.batch(), sh.seqLen(), a))
                .build();
        // pass 2: compare segment `kept`
        int q0 = seg.qStart(kept);
        int nq = seg.qLen(kept);
        int k0 = seg.kStart(kept);
        int nk = seg.kLen(kept);
        int[] rows = SegmentSlices.range(q0, nq);
        String what = "segment " + kept + " after changing the others: ";
        sameRows(what, forward(changed), rows, changed, forward(in), rows, in, c);
        BackwardResult g = backward(in, dOut);
        BackwardResult g2 = backward(changed, dOut2);
        BackwardBounds b = pairBounds(in, dOut, changed, dOut2);
        TermMagnitudes t = termsUnlessExact(in, dOut);
        sameGradient(what + "dQ", SegmentSlices.rows(g2.dq(), qw, q0, nq), SegmentSlices.rows(g.dq(), qw, q0, nq),
                b.dq(), normOfRows(t == null ? null : t.dq(), qw, q0, nq), c);
        sameGradient(what + "dK", SegmentSlices.rows(g2.dk(), kw, k0, nk), SegmentSlices.rows(g.dk(), kw, k0, nk),
                b.dk(), normOfRows(t == null ? null : t.dk(), kw, k0, nk), c);
        sameGradient(what + "dV", SegmentSlices.rows(g2.dv(), kw, k0, nk), SegmentSlices.rows(g.dv(), kw, k0, nk),
                b.dv(), normOfRows(t == null ? null : t.dv(), kw, k0, nk), c);
        sameGradient(what + "dRouterLogit", SegmentSlices.rows(g2.dRouterLogit(), 1, q0, nq),
                SegmentSlices.rows(g.dRouterLogit(), 1, q0, nq), b.dRouterLogit(),
                normOfRows(t == null ? null : t.dRouterLogit(), 1, q0, nq), c);
        SegmentStatistics.require("layout", "PACKED_SELF", "PACKED", "KV_CACHE", "GAPS");
    }

    /**
     * Values of cache slots beyond a sequence's length (and of any key row outside every segment) never matter:
     * the case's fill (NaN, +-Inf, +-1e300 or ordinary values) replaced by another gives the same O, LSE, dQ, dK,
     * dV and dRouterLogit, all finite, and dK, dV are exactly 0 on those rows.
     */
    @Property(tries = 120)
    @Label("spec 2.0: values of cache slots beyond a sequence's length never matter; their dK, dV are exactly 0")
    void cacheSlotsBeyondTheLengthNeverMatter(@ForAll("unusedKeyRowCases") SegmentCase c) {
        CaseStatistics.record("fill", c.fill().name());
        CaseStatistics.record("layout", c.layout().name());
        AttentionInputs in = c.inputs();
        Segments seg = in.segments();
        Shape sh = in.shape();
        int kw = SegmentSlices.kvWidth(sh);
        SegmentCase.Fill other = SegmentCase.Fill.values()[(c.fill().ordinal() + 1
                + c.random(70).nextInt(SegmentCase.Fill.values().length - 1)) % SegmentCase.Fill.values().length];
        double[] k = c.k();
        double[] v = c.v();
        SegmentCase.fillUnusedKeyRows(sh, seg, other, c.random(71), k, v);
        AttentionInputs refilled = in.toBuilder().k(k).v(v).build();
        ForwardResult f = forward(in);
        ForwardResult f2 = forward(refilled);
        finite("forward with " + c.fill() + " beyond the lengths", c, f.o(), f.lse());
        sameRows(other + " instead of " + c.fill() + " beyond the lengths", f2, null, refilled, f, null, in, c);
        double[] dOut = c.outputGradient();
        BackwardResult g = backward(in, dOut);
        BackwardResult g2 = backward(refilled, dOut);
        finite("backward with " + c.fill() + " beyond the lengths", c, g.dq(), g.dk(), g.dv(), g.dRouterLogit());
        BackwardBounds b = pairBounds(in, dOut, refilled, dOut);
        TermMagnitudes t = termsUnlessExact(in, dOut);
        String what = other + " instead of " + c.fill() + " beyond the lengths: ";
        sameGradient(what + "dQ", g2.dq(), g.dq(), b.dq(), t == null ? 0 : Checks.norm(t.dq()), c);
        sameGradient(what + "dK", g2.dk(), g.dk(), b.dk(), t == null ? 0 : Checks.norm(t.dk()), c);
        sameGradient(what + "dV", g2.dv(), g.dv(), b.dv(), t == null ? 0 : Checks.norm(t.dv()), c);
        sameGradient(what + "dRouterLogit", g2.dRouterLogit(), g.dRouterLogit(), b.dRouterLogit(),
                t == null ? 0 : Checks.norm(t.dRouterLogit()), c);
        for (int kr = 0; kr < sh.kvRows(); kr++) {
            if (!seg.keyRowUsed(kr)) {
                for (BackwardResult r : new BackwardResult[] {g, g2}) {
                    Checks.zero("dK of unused key row " + kr, SegmentSlices.rows(r.dk(), kw, kr, 1), c);
                    Checks.zero("dV of unused key row " + kr, SegmentSlices.rows(r.dv(), kw, kr, 1), c);
                }
            }
        }
        SegmentStatistics.require("fill", "NAN", "INFINITY", "HUGE", "ORDINARY");
        SegmentStatistics.require("layout", "KV_CACHE", "GAPS");
    }

    /** forwardRows on segment inputs answers the rows of forward, in the order asked, duplicates included. */
    @Property(tries = 80)
    @Label("spec 2.0: forwardRows equals the rows of forward on segment inputs")
    void forwardRowsAreRowsOfForward(@ForAll("packedCases") SegmentCase c) {
        AttentionInputs in = c.inputs();
        SplittableRandom rnd = c.random(80);
        int[] rows = new int[1 + rnd.nextInt(2 * in.shape().rows())];
        for (int n = 0; n < rows.length; n++) {
            rows[n] = rnd.nextInt(in.shape().rows());
        }
        assumeSupported(in);
        RowsResult got = implementation().forwardRows(in, rows);
        Checks.that(java.util.Arrays.equals(got.rows(), rows), "forwardRows returned rows "
                + java.util.Arrays.toString(got.rows()) + " for " + java.util.Arrays.toString(rows), c);
        Shape sh = in.shape();
        ForwardResult asRows = new ForwardResult(new Shape(1, rows.length, sh.qHeads(), sh.kvHeads(), sh.headDim()),
                got.o(), got.lse());
        sameRows("forwardRows vs forward", asRows, null, in, forward(in), rows, in, c);
    }

    // ----------------------------------------------------------------------------------------------------------
    // named generators (SegmentArbitraries)

    /** Chunked prefills: splits of v1 prefills, boundaries at the window edge on purpose. */
    @Provide
    Arbitrary<ChunkedPrefill> chunkedPrefills() {
        return SegmentArbitraries.chunkedPrefills();
    }

    /** Decode steps at cache lengths w-1, w, w+1, S and any. */
    @Provide
    Arbitrary<DecodeStep> decodeSteps() {
        return SegmentArbitraries.decodeSteps();
    }

    /** Every layout of packed, cached and gapped tables. */
    @Provide
    Arbitrary<SegmentCase> packedCases() {
        return SegmentArbitraries.packedCases();
    }

    /** Packed cases with at least two segments that have queries. */
    @Provide
    Arbitrary<SegmentCase> multiSegmentCases() {
        return SegmentArbitraries.multiSegmentCases();
    }

    /** Cases with key rows outside every segment. */
    @Provide
    Arbitrary<SegmentCase> unusedKeyRowCases() {
        return SegmentArbitraries.unusedKeyRowCases();
    }
}
