package org.swiattn.properties;

import static org.swiattn.properties.ValidationProperties.names;
import static org.swiattn.properties.ValidationProperties.rejected;

import java.util.List;
import java.util.SplittableRandom;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * Every malformed spec 2.0 metadata is rejected with an {@link InvalidInputException} that names the argument
 * and carries the offending value; and an implementation that does not compute segments refuses them.
 *
 * <pre>{@code
 *   argument                  bad input                                                   where it is caught
 *   cuSeqlensQ, cuSeqlensK,   not starting at 0, decreasing, negative, a total that is    Segments.packed /
 *   cuSeqlens                 not B*Sq (B*Sk), fewer than 2 entries, null, q and k with   packedSelf
 *                             different segment counts
 *   cacheSeqlens              above the capacity Sk, below Sq (0 and negative included),  Segments.kvCache
 *                             not B entries, null
 *   segments                  Sq > Sk bottom-right (also Sq != Sk with no segments      Segments, AttentionInputs
 *                             given), a segment with more queries than keys, negative
 *                             lengths, query rows that do not tile [0, B*Sq), key ranges
 *                             that overlap or leave [0, B*Sk), a table for another shape
 *   cuSeqlens                 packed self-attention with Sq != Sk                         Segments.packedSelf
 *   segmentIds                a document that is not contiguous, the wrong length         Segments.fromSegmentIds
 *   kvSeqLen                  Sk < 1                                                   Shape
 *   k, v                      a non-finite value on a key row inside a segment            AttentionInputs
 * }</pre>
 * All of it is the spec's validation, shared by every implementation, so these properties run on every
 * implementation, also where {@link org.swiattn.spec.SwitchAttention#supportsSegments()} is false; there the last
 * property requires the implementation to refuse segment inputs with an {@link UnsupportedOperationException}.
 */
public abstract class SegmentValidationProperties extends AttentionPropertiesBase {

    /** Runs the action and returns the UnsupportedOperationException it must throw. */
    static UnsupportedOperationException refused(Runnable action, Object context) {
        return ValidationProperties.thrown(UnsupportedOperationException.class, action,
                "segment inputs were computed although supportsSegments() is false", context);
    }

    /** The cu_seqlens of a packed case's keys: 0, kLen[0], kLen[0]+kLen[1], ... @param seg a packed table */
    static int[] cuSeqlensK(Segments seg) {
        return SegmentArbitraries.cumulative(seg.keyLengths());
    }

    /** A kind of bad cu_seqlens. */
    enum BadCumulative {
        DECREASING, FIRST_NOT_ZERO, NEGATIVE, TOTAL_TOO_LARGE, TOO_SHORT, NULL, SEGMENT_COUNTS_DIFFER
    }

    /** A kind of bad cache_seqlens. */
    enum BadCacheLength {
        ABOVE_CAPACITY, BELOW_SQ, WRONG_LENGTH, NULL
    }

    /** A kind of bad general table. */
    enum BadTable {
        NEGATIVE_LENGTH, QUERY_ROWS_SKIPPED, QUERY_ROWS_NOT_COVERED, KEYS_OVERLAP, KEYS_OUTSIDE, ARRAY_LENGTHS
    }

    /**
     * Malformed cu_seqlens (packed and packed self-attention) are rejected, naming cuSeqlensQ, cuSeqlensK or
     * cuSeqlens and the offending entry or total.
     */
    @Property(tries = 100)
    @Label("spec 2.0: malformed cu_seqlens are rejected, naming the argument and the value")
    void malformedCuSeqlensAreRejected(@ForAll("cuSeqlensCases") SegmentCase c,
                                       @ForAll("badCumulatives") BadCumulative kind) {
        Shape sh = c.shape();
        Segments seg = c.segments();
        SplittableRandom rnd = c.random(90);
        // packed self-attention has one cu_seqlens; segment counts can differ only between two (Segments.packed)
        boolean counts = kind == BadCumulative.SEGMENT_COUNTS_DIFFER;
        boolean self = c.layout() == SegmentCase.Layout.PACKED_SELF && !counts;
        CaseStatistics.record("bad cu_seqlens", kind.name());
        boolean breakKeys = counts || !self && rnd.nextBoolean();
        String name = self ? "cuSeqlens" : breakKeys ? "cuSeqlensK" : "cuSeqlensQ";
        int[] cu = breakKeys ? cuSeqlensK(seg) : seg.cuSeqlensQ();
        int n = cu.length - 1;
        Object detail;
        switch (kind) {
            case DECREASING -> {
                int at = 1 + rnd.nextInt(n);
                cu[at] = cu[at - 1] - 1 - rnd.nextInt(3);
                detail = name + "[" + at + "] = " + cu[at];
            }
            case FIRST_NOT_ZERO -> {
                cu[0] = rnd.nextBoolean() ? 1 : -1;
                detail = name + "[0] = " + cu[0];
            }
            case NEGATIVE -> {
                int at = rnd.nextInt(n);
                cu[at] = -1 - rnd.nextInt(5);
                detail = cu[at];
            }
            case TOTAL_TOO_LARGE -> {
                cu[n] += 1 + rnd.nextInt(3);
                detail = "ends at " + cu[n];
            }
            case TOO_SHORT -> {
                cu = new int[] {0};
                detail = "got 1";
            }
            case NULL -> {
                cu = null;
                detail = "null";
            }
            default -> {   // SEGMENT_COUNTS_DIFFER: a valid cu_seqlens_k of one more (empty) segment
                int[] longer = new int[cu.length + 1];
                System.arraycopy(cu, 0, longer, 1, cu.length);
                cu = longer;
                detail = "has " + (n + 1) + " segments but cuSeqlensQ has " + n;
            }
        }
        int[] bad = cu;
        InvalidInputException e;
        if (self) {
            e = rejected(() -> Segments.packedSelf(sh, bad), c);
        } else if (breakKeys) {
            e = rejected(() -> Segments.packed(sh, seg.cuSeqlensQ(), bad), c);
        } else {
            e = rejected(() -> Segments.packed(sh, bad, cuSeqlensK(seg)), c);
        }
        names(e, name, c, detail);
        SegmentStatistics.require("bad cu_seqlens", constants(BadCumulative.values()));
    }

    /** Malformed cache_seqlens are rejected, naming cacheSeqlens and the value (and the capacity, or Sq). */
    @Property(tries = 60)
    @Label("spec 2.0: cache lengths above capacity, below Sq, negative, of the wrong count are rejected")
    void malformedCacheSeqlensAreRejected(@ForAll("kvCacheCases") SegmentCase c,
                                          @ForAll("badCacheLengths") BadCacheLength kind) {
        Shape sh = c.shape();
        SplittableRandom rnd = c.random(91);
        CaseStatistics.record("bad cacheSeqlens", kind.name());
        int[] len = c.segments().keyLengths();
        int b = rnd.nextInt(len.length);
        switch (kind) {
            case ABOVE_CAPACITY -> {
                len[b] = sh.kvSeqLen() + 1 + rnd.nextInt(3);
                int[] bad = len;
                names(rejected(() -> Segments.kvCache(sh, bad), c), "cacheSeqlens", c,
                        "cacheSeqlens[" + b + "] = " + len[b], "Sk = " + sh.kvSeqLen());
            }
            case BELOW_SQ -> {
                len[b] = sh.seqLen() - 1 - rnd.nextInt(sh.seqLen() + 3);   // Sq-1 down to -3: 0 and negatives
                int[] bad = len;
                names(rejected(() -> Segments.kvCache(sh, bad), c), "cacheSeqlens", c,
                        "cacheSeqlens[" + b + "] = " + len[b], "Sq = " + sh.seqLen());
            }
            case WRONG_LENGTH -> {
                int[] bad = new int[len.length + (rnd.nextBoolean() || len.length == 1 ? 1 : -1)];
                java.util.Arrays.fill(bad, sh.seqLen());
                names(rejected(() -> Segments.kvCache(sh, bad), c), "cacheSeqlens", c, "got " + bad.length);
            }
            default -> names(rejected(() -> Segments.kvCache(sh, null), c), "cacheSeqlens", c, "null");
        }
        SegmentStatistics.require("bad cacheSeqlens", constants(BadCacheLength.values()));
    }

    /**
     * More queries than keys is rejected, never a row with nothing to see: {@code Sq > Sk} bottom-right (Segments.
     * bottomRight, selfAttention, and inputs given no segments), packed self-attention with Sq != Sk, a packed
     * segment with more query rows than key rows. Each names segments (cuSeqlens for packedSelf) and the numbers.
     */
    @Property(tries = 50)
    @Label("spec 2.0: Sq > Sk bottom-right and segments with more queries than keys are rejected")
    void moreQueriesThanKeysAreRejected(@ForAll("cases") AttentionCase c) {
        Shape base = c.shape();
        SplittableRandom rnd = c.random(92);
        int sk = base.seqLen();
        int sq = sk + 1 + rnd.nextInt(3);
        Shape sh = new Shape(base.batch(), sq, base.qHeads(), base.kvHeads(), base.headDim(), sk);
        String numbers = "Sq=" + sq;
        names(rejected(() -> Segments.bottomRight(sh), c), "segments", c, numbers, "Sk=" + sk);
        names(rejected(() -> Segments.selfAttention(sh), c), "segments", c, numbers, "Sk=" + sk);
        names(rejected(() -> Segments.packedSelf(sh, new int[] {0, sh.rows()}), c), "cuSeqlens", c, numbers);
        names(rejected(() -> AttentionInputs.builder(sh).q(new double[sh.qSize()]).k(new double[sh.kvSize()])
                .v(new double[sh.kvSize()]).window(c.window()).route(Route.allFull(sh.batch(), sq)).build(), c),
                "segments", c, numbers, "Sk=" + sk);
        // one packed segment with more queries than keys: B*Sq = B*Sk + extra rows
        Shape flat = new Shape(1, sh.rows(), base.qHeads(), base.kvHeads(), base.headDim(), base.batch() * sk);
        int s = rnd.nextInt(base.batch());
        int[] cuQ = new int[base.batch() + 1];
        int[] cuK = new int[base.batch() + 1];
        for (int t = 0; t < base.batch(); t++) {
            cuK[t + 1] = cuK[t] + sk;
            cuQ[t + 1] = cuQ[t] + (t == s ? sk + sh.rows() - base.batch() * sk : sk);
        }
        int qLen = cuQ[s + 1] - cuQ[s];
        names(rejected(() -> Segments.packed(flat, cuQ, cuK), c), "segments", c, "segment " + s,
                qLen + " queries", sk + " keys");
    }

    /**
     * A general table (Segments.of) that breaks a rule is rejected, naming segments and the offending segment and
     * rows: negative lengths, query rows skipped or not covered, key ranges that overlap or leave [0, B*Sk); and
     * arrays of different lengths, naming the array.
     */
    @Property(tries = 80)
    @Label("spec 2.0: malformed segment tables are rejected, naming the segment and the rows")
    void malformedTablesAreRejected(@ForAll("packedCases") SegmentCase c, @ForAll("badTables") BadTable kind) {
        Shape sh = c.shape();
        Segments seg = c.segments();
        SplittableRandom rnd = c.random(93);
        int n = seg.count();
        int[][] table = SegmentSlices.table(seg);
        int[] qs = table[0];
        int[] ql = table[1];
        int[] ks = table[2];
        int[] kl = table[3];
        Checks.that(Segments.of(sh, qs, ql, ks, kl).equals(seg), "Segments.of of the table differs from it", c);
        int s = rnd.nextInt(n);
        String argument = "segments";
        Object detail;
        switch (kind) {
            case NEGATIVE_LENGTH -> {
                int bad = -1 - rnd.nextInt(3);
                if (rnd.nextBoolean()) {
                    ql[s] = bad;
                } else {
                    kl[s] = bad;
                }
                detail = "=" + bad;
            }
            case QUERY_ROWS_SKIPPED -> {
                qs[s] += 1 + rnd.nextInt(2);
                detail = "starts at query row " + qs[s];
            }
            case QUERY_ROWS_NOT_COVERED -> {
                // the last segment with queries gives up its last row (qLen <= kLen still), the empty
                // segments after it start one row earlier: only the last query row is left out
                int last = n - 1;
                while (ql[last] == 0) {
                    qs[last]--;
                    last--;
                }
                ql[last]--;
                detail = "covers query rows [0, " + (sh.rows() - 1) + ")";
            }
            case KEYS_OVERLAP -> {
                int at = 1 + rnd.nextInt(Math.max(1, n - 1));
                if (n == 1 || kl[at - 1] == 0) {
                    ks[0] = -1;   // before key row 0: the same rule (in order, from the start)
                    detail = "starts at key row -1";
                } else {
                    ks[at] = ks[at - 1] + kl[at - 1] - 1;
                    detail = "starts at key row " + ks[at];
                }
            }
            case KEYS_OUTSIDE -> {
                kl[n - 1] = sh.kvRows() - ks[n - 1] + 1 + rnd.nextInt(3);
                detail = "outside [0, B*Sk) = [0, " + sh.kvRows() + ")";
            }
            default -> {   // ARRAY_LENGTHS
                String[] arrays = {"qLen", "kStart", "kLen"};
                argument = arrays[rnd.nextInt(3)];
                int[] shorter = new int[n + 1];
                switch (argument) {
                    case "qLen" -> ql = shorter;
                    case "kStart" -> ks = shorter;
                    default -> kl = shorter;
                }
                detail = "has " + (n + 1) + " entries but qStart has " + n;
            }
        }
        CaseStatistics.record("bad table", kind.name());
        int[] a = qs;
        int[] b = ql;
        int[] d = ks;
        int[] e = kl;
        names(rejected(() -> Segments.of(sh, a, b, d, e), c), argument, c, detail);
        SegmentStatistics.require("bad table", constants(BadTable.values()));
    }

    /**
     * Segment ids (FlexAttention's document mask) must keep each document contiguous: a document that appears
     * again after another is rejected, naming segmentIds and the two ids; the wrong count too. Valid ids give the
     * packed self-attention table of the same documents.
     */
    @Property(tries = 50)
    @Label("spec 2.0: segment ids that are not contiguous are rejected")
    void segmentIdsThatAreNotContiguousAreRejected(@ForAll("packedSelfCases") SegmentCase c) {
        Shape sh = c.shape();
        Segments seg = c.segments();
        int[] ids = new int[sh.rows()];
        for (int r = 0; r < ids.length; r++) {
            ids[r] = 7 * seg.segmentOf(r);   // ids need not be consecutive
        }
        Checks.that(Segments.fromSegmentIds(sh, ids).equals(Segments.packedSelf(sh, seg.cuSeqlensQ())),
                "segment ids " + java.util.Arrays.toString(ids) + " give another table than their cu_seqlens", c);
        CaseStatistics.record("segments", seg.count() == 1 ? "1" : ">1");
        int last = ids.length - 1;
        if (last > 0) {
            // the last row back in the first document after another one (or, where the row before is in the
            // first document, a smaller id)
            int before = ids[last - 1];
            int bad = before > 0 ? 0 : before - 1;
            ids[last] = bad;
            names(rejected(() -> Segments.fromSegmentIds(sh, ids), c), "segmentIds", c,
                    "segmentIds[" + (last - 1) + "] = " + before, "segmentIds[" + last + "] = " + bad);
        }
        int[] wrong = new int[ids.length + 1];
        names(rejected(() -> Segments.fromSegmentIds(sh, wrong), c), "segmentIds", c, "got " + wrong.length);
    }

    /** A table built for another shape (other B*Sq or B*Sk) is rejected by the inputs, naming segments. */
    @Property(tries = 50)
    @Label("spec 2.0: segments built for another shape are rejected")
    void segmentsForAnotherShapeAreRejected(@ForAll("packedCases") SegmentCase c) {
        Shape sh = c.shape();
        SplittableRandom rnd = c.random(94);
        boolean moreKeys = rnd.nextBoolean();
        int extra = 1 + rnd.nextInt(3);
        Shape other = new Shape(sh.batch(), sh.seqLen() + (moreKeys ? 0 : extra), sh.qHeads(), sh.kvHeads(),
                sh.headDim(), sh.kvSeqLen() + (moreKeys ? extra : 0));
        CaseStatistics.record("other shape", moreKeys ? "more key rows" : "more query rows");
        AttentionInputs.Builder b = AttentionInputs.builder(other).q(new double[other.qSize()])
                .k(new double[other.kvSize()]).v(new double[other.kvSize()]).window(c.window())
                .route(Route.allFull(other.batch(), other.seqLen())).segments(c.segments());
        names(rejected(b::build, c), "segments", c, moreKeys ? "B*Sk = " + other.kvRows()
                : "B*Sq = " + other.rows());
        SegmentStatistics.require("other shape", "more key rows", "more query rows");
    }

    /** {@code Sk < 1} is rejected, naming kvSeqLen and its value. */
    @Property(tries = 30)
    @Label("spec 2.0: Sk < 1 is rejected")
    void nonPositiveKeyRowsAreRejected(@ForAll("cases") AttentionCase c, @ForAll("badSizes") int bad) {
        Shape sh = c.shape();
        names(rejected(() -> new Shape(sh.batch(), sh.seqLen(), sh.qHeads(), sh.kvHeads(), sh.headDim(), bad), c),
                "kvSeqLen", c, bad);
    }

    /**
     * K and V must be finite on every key row inside a segment (rejected naming k or v and the index), and may be
     * anything elsewhere (accepted).
     */
    @Property(tries = 60)
    @Label("spec 2.0: non-finite k, v inside a segment are rejected, outside accepted")
    void nonFiniteKeysInsideASegmentAreRejected(@ForAll("packedCases") SegmentCase c) {
        Shape sh = c.shape();
        Segments seg = c.segments();
        SplittableRandom rnd = c.random(95);
        int kw = SegmentSlices.kvWidth(sh);
        int used;
        do {
            used = rnd.nextInt(sh.kvRows());
        } while (!seg.keyRowUsed(used));
        boolean keys = rnd.nextBoolean();
        double[] x = keys ? c.k() : c.v();
        int at = used * kw + rnd.nextInt(kw);
        x[at] = new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}[rnd.nextInt(3)];
        AttentionInputs.Builder b = c.inputs().toBuilder();
        if (keys) {
            b.k(x);
        } else {
            b.v(x);
        }
        names(rejected(b::build, c), keys ? "k" : "v", c, "index " + at);
        CaseStatistics.record("unused key rows", c.unusedKeyRows() == 0 ? "none" : "some (NaN there accepted)");
        if (c.unusedKeyRows() > 0) {
            double[] k = c.k();
            double[] v = c.v();
            SegmentCase.fillUnusedKeyRows(sh, seg, SegmentCase.Fill.NAN, rnd, k, v);
            c.inputs().toBuilder().k(k).v(v).build();   // NaN outside every segment: accepted (must not throw)
        }
    }

    /**
     * Whether the implementation computes the forward (and forwardRows) of these inputs: where supportsSegments()
     * answers true or the table is v1 self-attention, and wherever an implementation that computes a subset of the
     * tables says so by overriding this (a decode-only GPU path, say). The backward of a table is computed exactly
     * where supportsSegments() answers true or the table is self-attention.
     *
     * @param in not modified
     */
    protected boolean computesForward(AttentionInputs in) {
        return implementation().supportsSegments() || in.segments().isSelfAttention();
    }

    /**
     * An implementation computes segment inputs or refuses them: where supportsSegments() answers true, forward,
     * backward and forwardRows run and give finite values; where it answers false, each throws
     * UnsupportedOperationException (the spec's {@code requireSelfAttention}) for a table that is not v1
     * self-attention, and computes one that is; forward and forwardRows also run where {@link #computesForward}
     * says so.
     */
    @Property(tries = 40)
    @Label("spec 2.0: segment inputs are computed where supportsSegments(), else refused")
    void segmentInputsAreComputedOrRefused(@ForAll("packedCases") SegmentCase c) {
        AttentionInputs in = c.inputs();
        assumeSupported(in);
        boolean computes = implementation().supportsSegments() || in.segments().isSelfAttention();
        boolean forwards = computes || computesForward(in);
        CaseStatistics.record("expected", computes ? "computed" : forwards ? "forward computed" : "refused");
        double[] dOut = c.outputGradient();
        int[] rows = {0, in.shape().rows() - 1};
        List<Runnable> refusedCalls = new java.util.ArrayList<>();
        if (forwards) {
            ForwardResult f = implementation().forward(in);
            Checks.that(Tensors.allFinite(f.o()) && Tensors.allFinite(f.lse()), "non-finite forward on segment inputs",
                    c);
            Checks.that(implementation().forwardRows(in, rows).rows().length == 2, "forwardRows lost rows", c);
        } else {
            refusedCalls.add(() -> implementation().forward(in));
            refusedCalls.add(() -> implementation().forwardRows(in, rows));
        }
        if (computes) {
            BackwardResult g = implementation().backward(in, dOut);
            Checks.that(Tensors.allFinite(g.dq()) && Tensors.allFinite(g.dk()) && Tensors.allFinite(g.dv())
                    && Tensors.allFinite(g.dRouterLogit()), "non-finite backward on segment inputs", c);
        } else {
            refusedCalls.add(() -> implementation().backward(in, dOut));
        }
        for (Runnable call : refusedCalls) {
            UnsupportedOperationException e = refused(call, c);
            Checks.that(e.getMessage() != null && e.getMessage().contains("self-attention"),
                    "the refusal does not say what is supported: " + e.getMessage(), c);
        }
    }

    /** The names of enum constants. */
    private static String[] constants(Enum<?>[] values) {
        String[] n = new String[values.length];
        for (int t = 0; t < n.length; t++) {
            n[t] = values[t].name();
        }
        return n;
    }

    // ----------------------------------------------------------------------------------------------------------
    // named generators

    /** Every layout of {@link SegmentArbitraries#packedCases()}. */
    @Provide
    Arbitrary<SegmentCase> packedCases() {
        return SegmentArbitraries.packedCases();
    }

    /** Tables built from cu_seqlens: packed self-attention and packed varlen. */
    @Provide
    Arbitrary<SegmentCase> cuSeqlensCases() {
        return Arbitraries.frequencyOf(Tuple.of(1, SegmentArbitraries.packedSelfCases()),
                Tuple.of(1, SegmentArbitraries.packedVarlenCases()));
    }

    /** Packed self-attention tables. */
    @Provide
    Arbitrary<SegmentCase> packedSelfCases() {
        return SegmentArbitraries.packedSelfCases();
    }

    /** KV-cache tables. */
    @Provide
    Arbitrary<SegmentCase> kvCacheCases() {
        return SegmentArbitraries.kvCacheCases();
    }

    /** The kinds of bad cu_seqlens, equally likely. */
    @Provide
    Arbitrary<BadCumulative> badCumulatives() {
        return Arbitraries.of(BadCumulative.class).withoutEdgeCases();
    }

    /** The kinds of bad cache_seqlens, equally likely. */
    @Provide
    Arbitrary<BadCacheLength> badCacheLengths() {
        return Arbitraries.of(BadCacheLength.class).withoutEdgeCases();
    }

    /** The kinds of bad general tables, equally likely. */
    @Provide
    Arbitrary<BadTable> badTables() {
        return Arbitraries.of(BadTable.class).withoutEdgeCases();
    }

    /** Sizes below 1. */
    @Provide
    Arbitrary<Integer> badSizes() {
        return Arbitraries.oneOf(Arbitraries.of(0, -1, Integer.MIN_VALUE), Arbitraries.integers().lessOrEqual(0));
    }
}
