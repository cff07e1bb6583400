package org.swiattn.properties;

import java.util.List;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

import org.swiattn.properties.AttentionCase.RouteKind;
import org.swiattn.properties.AttentionCase.WindowKind;
import org.swiattn.properties.SegmentCase.Fill;
import org.swiattn.properties.SegmentCase.Layout;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * The named generators of the spec 2.0 properties ({@link SegmentProperties}); {@link SegmentStatistics} proves
 * that the edges below really occur.
 *
 * <pre>
 *   packed cases     layout PACKED_SELF | PACKED | KV_CACHE | GAPS                        ({@link Layout})
 *                    1..5 segments; key lengths 1 (30%), 2..4, 5..12; query rows per segment all, 1, 0 or some
 *                    w = 1, = the shortest segment, = shortest + 1, = the longest, beyond every segment, inside
 *                    KV_CACHE: B 1..3, Sq = 1 (decode, 60%) or 2..4, w 1..10, cache lengths w-1, w, w+1, w+4
 *                    or any (at least Sq), capacity up to 3 slots beyond the longest
 *                    unused key rows hold NaN, +-Inf, +-1e300 or ordinary values                 ({@link Fill})
 *   chunked prefills a v1 case (S 2..24, w mostly inside) split into chunks: the first chunk ends at w-1, w,
 *                    w+1 or anywhere, the next ones have length 1, w (50%) or any; a tight cache (Sk = chunk end)
 *                    or a padded one
 *                    (capacity S + 2: the prefill's later keys, then the fill)
 *   decode steps     a v1 case; for each batch row a cache length w-1, w, w+1, S or any (the token decoded is
 *                    the last of it); capacity S + 0..2, the later keys and then the fill beyond the length
 * </pre>
 * Heads: G in {1, 2, 4}, Hkv in {1, 2}, D in 1, 2..8, 9..32, 64 (small: every property runs the implementation
 * several times per try). As in {@link AttentionArbitraries}, the kinds are drawn without jqwik's edge-case
 * injection, so their frequencies are the ones written here.
 */
public final class SegmentArbitraries {
    private SegmentArbitraries() {
    }

    // ------------------------------------------------------------------------------------------------- pieces

    /** Hq, Hkv, D of a case. */
    public record Heads(int qHeads, int kvHeads, int headDim) {
    }

    /** How w relates to the key lengths of the segments. */
    public enum WindowRelation {
        /** w = 1 */
        ONE,
        /** w = the shortest segment's key length */
        SHORTEST,
        /** w = the shortest segment's key length + 1: the window is larger than that segment */
        SHORTEST_PLUS_1,
        /** w = the longest segment's key length */
        LONGEST,
        /** w beyond every segment */
        BEYOND,
        /** any w from 1 to the longest */
        INSIDE
    }

    /** How many query rows a segment of a packed case has. */
    public enum QueryRows {
        /** qLen = kLen */
        ALL,
        /** qLen = 1 */
        ONE,
        /** qLen = 0 (keys that no query reads; allowed) */
        NONE,
        /** any qLen in [1, kLen] */
        SOME
    }

    /** Where the first chunk of a chunked prefill ends, relative to w. */
    public enum ChunkEdge {
        W_MINUS_1, W, W_PLUS_1, ANY
    }

    /** The length of a later chunk of a chunked prefill. */
    public enum ChunkLength {
        ONE, W, ANY
    }

    /** The cache length of a decode step or of a KV-cache case, relative to w. */
    public enum CacheLength {
        W_MINUS_1, W, W_PLUS_1,
        /** decode: the whole prefill (t = S-1); KV-cache cases: w + 4 */
        LONG,
        ANY
    }

    /** One segment of a generated table: kLen keys, the query-row kind, and unused key rows before it (GAPS). */
    public record SegmentSpec(int kLen, QueryRows queries, double pick, int gapBefore) {
        /** qLen of this segment ({@code <= kLen}). */
        int qLen() {
            return switch (queries) {
                case ALL -> kLen;
                case ONE -> 1;
                case NONE -> 0;
                case SOME -> 1 + (int) (pick * kLen);
            };
        }
    }

    /** The choices every packed case makes besides its segments. */
    public record Common(Heads heads, WindowRelation window, double pick, RouteKind route, Estimator estimator,
                        Fill fill, long seed) {
    }

    /** Key lengths of segments: 1 (30%), 2..4 (30%), 5..12 (40%). */
    public static Arbitrary<Integer> segmentLengths() {
        return Arbitraries.frequencyOf(Tuple.of(30, Arbitraries.just(1)),
                Tuple.of(30, Arbitraries.integers().between(2, 4)),
                Tuple.of(40, Arbitraries.integers().between(5, 12)));
    }

    /** G in {1, 2, 4}, Hkv in {1, 2}, D in 1, 2..8, 9..32, 64. */
    public static Arbitrary<Heads> heads() {
        Arbitrary<Integer> d = Arbitraries.frequencyOf(Tuple.of(15, Arbitraries.just(1)),
                Tuple.of(45, Arbitraries.integers().between(2, 8)),
                Tuple.of(25, Arbitraries.integers().between(9, 32)), Tuple.of(15, Arbitraries.just(64)));
        return Combinators.combine(Arbitraries.of(1, 2, 4), Arbitraries.of(1, 2), d)
                .as((g, hkv, dim) -> new Heads(g * hkv, hkv, dim));
    }

    /** The fills of unused key rows, equally likely. */
    public static Arbitrary<Fill> fills() {
        return Arbitraries.of(Fill.class).withoutEdgeCases();
    }

    /** The choices besides the table. */
    public static Arbitrary<Common> commons() {
        return Combinators.combine(heads(), Arbitraries.of(WindowRelation.class).withoutEdgeCases(),
                        AttentionArbitraries.picks(), AttentionArbitraries.routeKinds(),
                        AttentionArbitraries.estimators(), fills(), AttentionArbitraries.seeds())
                .as(Common::new);
    }

    /** Segments of a packed table. */
    public static Arbitrary<List<SegmentSpec>> segmentSpecs() {
        Arbitrary<QueryRows> queries = Arbitraries.frequency(Tuple.of(3, QueryRows.ALL), Tuple.of(3, QueryRows.ONE),
                Tuple.of(1, QueryRows.NONE), Tuple.of(3, QueryRows.SOME)).withoutEdgeCases();
        Arbitrary<Integer> gaps = Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.just(0)),
                Tuple.of(6, Arbitraries.integers().between(1, 3)));
        return Combinators.combine(segmentLengths(), queries, AttentionArbitraries.picks(), gaps)
                .as(SegmentSpec::new).list().ofMinSize(1).ofMaxSize(5);
    }

    // ----------------------------------------------------------------------------------------------- packed cases

    /** Every layout: PACKED_SELF 30%, PACKED 25%, KV_CACHE 25%, GAPS 20%. */
    public static Arbitrary<SegmentCase> packedCases() {
        return Arbitraries.frequencyOf(Tuple.of(30, packedSelfCases()), Tuple.of(25, packedVarlenCases()),
                Tuple.of(25, kvCacheCases()), Tuple.of(20, gapCases()));
    }

    /** Packed cases with at least two segments that have query rows (for "nothing crosses a segment"). */
    public static Arbitrary<SegmentCase> multiSegmentCases() {
        return packedCases().filter(c -> segmentsWithQueries(c.segments()) >= 2);
    }

    /** Cases with key rows outside every segment (KV_CACHE below capacity, GAPS). */
    public static Arbitrary<SegmentCase> unusedKeyRowCases() {
        return Arbitraries.frequencyOf(Tuple.of(1, kvCacheCases()), Tuple.of(1, gapCases()))
                .filter(c -> c.unusedKeyRows() > 0);
    }

    /** Number of segments with at least one query row. */
    static int segmentsWithQueries(Segments seg) {
        int n = 0;
        for (int s = 0; s < seg.count(); s++) {
            n += seg.qLen(s) > 0 ? 1 : 0;
        }
        return n;
    }

    /** {@link Segments#packedSelf}: B = 1 or 2 (flat rows; a document may straddle the batch rows). */
    public static Arbitrary<SegmentCase> packedSelfCases() {
        return Combinators.combine(segmentSpecs(), AttentionArbitraries.batches(), commons()).as((specs, b, c) -> {
            int n = specs.size();
            int[] len = new int[n];
            int total = 0;
            for (int s = 0; s < n; s++) {
                len[s] = specs.get(s).kLen();
                total += len[s];
            }
            if (total % b != 0) {   // B*S rows: lengthen the last document
                len[n - 1] += b - total % b;
                total += b - total % b;
            }
            Shape sh = new Shape(b, total / b, c.heads().qHeads(), c.heads().kvHeads(), c.heads().headDim());
            int[] cu = cumulative(len);
            return build(Layout.PACKED_SELF, sh, Segments.packedSelf(sh, cu), len, c);
        });
    }

    /** {@link Segments#packed}: B = 1, cu_seqlens_q and cu_seqlens_k differ ({@code qLen <= kLen} per segment). */
    public static Arbitrary<SegmentCase> packedVarlenCases() {
        return Combinators.combine(segmentSpecs(), commons()).as((specs, c) -> {
            int n = specs.size();
            int[] ql = new int[n];
            int[] kl = new int[n];
            for (int s = 0; s < n; s++) {
                ql[s] = specs.get(s).qLen();
                kl[s] = specs.get(s).kLen();
            }
            if (sum(ql) == 0) {
                ql[n - 1] = 1;   // Sq >= 1
            }
            Shape sh = new Shape(1, sum(ql), c.heads().qHeads(), c.heads().kvHeads(), c.heads().headDim(), sum(kl));
            return build(Layout.PACKED, sh, Segments.packed(sh, cumulative(ql), cumulative(kl)), kl, c);
        });
    }

    /** {@link Segments#of}: B = 1, unused key rows before segments and after the last one (at least one). */
    public static Arbitrary<SegmentCase> gapCases() {
        return Combinators.combine(segmentSpecs(), Arbitraries.integers().between(0, 3), commons())
                .as((specs, trailing, c) -> {
                    int n = specs.size();
                    int[] qs = new int[n];
                    int[] ql = new int[n];
                    int[] ks = new int[n];
                    int[] kl = new int[n];
                    int q = 0;
                    int k = 0;
                    for (int s = 0; s < n; s++) {
                        SegmentSpec spec = specs.get(s);
                        k += spec.gapBefore();
                        qs[s] = q;
                        ql[s] = spec.qLen();
                        ks[s] = k;
                        kl[s] = spec.kLen();
                        q += ql[s];
                        k += kl[s];
                    }
                    if (q == 0) {
                        ql[n - 1] = 1;
                        q = 1;
                    }
                    int unused = k - sum(kl) + trailing;
                    int capacity = k + trailing + (unused == 0 ? 1 : 0);
                    Shape sh = new Shape(1, q, c.heads().qHeads(), c.heads().kvHeads(), c.heads().headDim(),
                            capacity);
                    return build(Layout.GAPS, sh, Segments.of(sh, qs, ql, ks, kl), kl, c);
                });
    }

    /**
     * {@link Segments#kvCache}: B 1..3, Sq = 1 (decode, 60%) or 2..4 new rows, w in 1..10, each sequence's cache
     * length w-1, w, w+1, w+4 or any in 1..14 (at least Sq), capacity up to 3 beyond the longest.
     */
    public static Arbitrary<SegmentCase> kvCacheCases() {
        Arbitrary<Integer> sq = Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.just(1)),
                Tuple.of(4, Arbitraries.integers().between(2, 4)));
        Arbitrary<List<CacheLength>> lengths = Arbitraries.of(CacheLength.class).withoutEdgeCases().list()
                .ofMinSize(1).ofMaxSize(3);
        return Combinators.combine(sq, Arbitraries.integers().between(1, 10), lengths,
                        Arbitraries.integers().between(0, 3), commons())
                .as((newRows, w, kinds, extra, c) -> {
                    int b = kinds.size();
                    int[] len = new int[b];
                    java.util.SplittableRandom rnd = new java.util.SplittableRandom(c.seed() ^ 0xCAC4EL);
                    for (int s = 0; s < b; s++) {
                        int l = switch (kinds.get(s)) {
                            case W_MINUS_1 -> w - 1;
                            case W -> w;
                            case W_PLUS_1 -> w + 1;
                            case LONG -> w + 4;
                            case ANY -> 1 + rnd.nextInt(14);
                        };
                        len[s] = Math.max(newRows, l);
                    }
                    int capacity = java.util.Arrays.stream(len).max().getAsInt() + extra;
                    Shape sh = new Shape(b, newRows, c.heads().qHeads(), c.heads().kvHeads(), c.heads().headDim(),
                            capacity);
                    return new SegmentCase(Layout.KV_CACHE, sh, Segments.kvCache(sh, len), w, c.route(),
                            c.estimator(), c.fill(), c.seed());
                });
    }

    /** The case of a table, with w from the window relation to the segments' key lengths. */
    private static SegmentCase build(Layout layout, Shape sh, Segments seg, int[] keyLengths, Common c) {
        int shortest = Integer.MAX_VALUE;
        int longest = 1;
        for (int l : keyLengths) {
            if (l > 0) {
                shortest = Math.min(shortest, l);
                longest = Math.max(longest, l);
            }
        }
        int w = switch (c.window()) {
            case ONE -> 1;
            case SHORTEST -> shortest;
            case SHORTEST_PLUS_1 -> shortest + 1;
            case LONGEST -> longest;
            case BEYOND -> longest + 1 + (int) (c.pick() * 8);
            case INSIDE -> 1 + (int) (c.pick() * longest);
        };
        return new SegmentCase(layout, sh, seg, w, c.route(), c.estimator(), c.fill(), c.seed());
    }

    /** [n+1] 0, x0, x0+x1, ... @param x [n]; not modified */
    static int[] cumulative(int[] x) {
        int[] cu = new int[x.length + 1];
        for (int s = 0; s < x.length; s++) {
            cu[s + 1] = cu[s] + x[s];
        }
        return cu;
    }

    private static int sum(int[] x) {
        int n = 0;
        for (int t : x) {
            n += t;
        }
        return n;
    }

    // -------------------------------------------------------------------------------------- prefills and decode

    /**
     * v1 cases for chunking and decoding: S 2..4 (25%), 5..12 (45%), 13..24 (30%), the heads above, and mostly a
     * window inside the sequence (w in [1, S] 50%, w = 1 10%, S-1 15%, S 10%, S+1 5%, beyond 10%), where chunk
     * boundaries and cache lengths can fall at w-1, w and w+1.
     */
    public static Arbitrary<AttentionCase> prefillCases() {
        Arbitrary<Integer> s = Arbitraries.frequencyOf(Tuple.of(25, Arbitraries.integers().between(2, 4)),
                Tuple.of(45, Arbitraries.integers().between(5, 12)),
                Tuple.of(30, Arbitraries.integers().between(13, 24)));
        Arbitrary<Shape> shapes = Combinators.combine(AttentionArbitraries.batches(), s, heads())
                .as((b, n, h) -> new Shape(b, n, h.qHeads(), h.kvHeads(), h.headDim()));
        Arbitrary<WindowKind> windows = Arbitraries.frequency(Tuple.of(50, WindowKind.INSIDE),
                Tuple.of(10, WindowKind.ONE), Tuple.of(15, WindowKind.S_MINUS_1), Tuple.of(10, WindowKind.S),
                Tuple.of(5, WindowKind.S_PLUS_1), Tuple.of(10, WindowKind.BEYOND)).withoutEdgeCases();
        return AttentionArbitraries.casesOf(shapes, windows);
    }

    /** Chunked prefills of {@link #prefillCases()} (see the class comment). */
    public static Arbitrary<ChunkedPrefill> chunkedPrefills() {
        Arbitrary<ChunkEdge> edges = Arbitraries.frequency(Tuple.of(3, ChunkEdge.W_MINUS_1), Tuple.of(2, ChunkEdge.W),
                Tuple.of(2, ChunkEdge.W_PLUS_1), Tuple.of(2, ChunkEdge.ANY)).withoutEdgeCases();
        Arbitrary<List<ChunkLength>> lengths = Arbitraries.frequency(Tuple.of(1, ChunkLength.ONE),
                Tuple.of(2, ChunkLength.W), Tuple.of(1, ChunkLength.ANY)).withoutEdgeCases().list().ofMaxSize(4);
        return Combinators.combine(prefillCases(), edges, lengths, Arbitraries.of(false, true).withoutEdgeCases(),
                fills()).as(ChunkedPrefill::of);
    }

    /** Decode steps of {@link #prefillCases()} (see the class comment). */
    public static Arbitrary<DecodeStep> decodeSteps() {
        Arbitrary<List<CacheLength>> lengths = Arbitraries.of(CacheLength.class).withoutEdgeCases().list()
                .ofSize(2);
        return Combinators.combine(prefillCases(), lengths, Arbitraries.integers().between(0, 2), fills())
                .as(DecodeStep::of);
    }
}
