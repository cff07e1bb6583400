package org.swiattn.golden;

import static org.swiattn.golden.CaseSpec.RouteKind.ALL_FULL;
import static org.swiattn.golden.CaseSpec.RouteKind.ALL_WINDOW;
import static org.swiattn.golden.CaseSpec.RouteKind.ALTERNATING;
import static org.swiattn.golden.CaseSpec.RouteKind.RANDOM;
import static org.swiattn.golden.CaseSpec.RouteKind.RANDOM_ROWS;
import static org.swiattn.golden.CaseSpec.RouteKind.RANDOM_ZERO_LOGITS;
import static org.swiattn.golden.CaseSpec.RouteKind.SATURATED;
import static org.swiattn.spec.Estimator.HARD;
import static org.swiattn.spec.Estimator.SELECTED_BRANCH;
import static org.swiattn.spec.Estimator.SOFT;
import static org.swiattn.spec.Estimator.STRAIGHT_THROUGH;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Shape;

/**
 * The golden case suites. The tables below are the single source of the cases: ids and names are stable (never
 * renumber, never reuse a retired id; append new cases with new ids).
 *
 * <pre>
 *   suite 1 (golden/v1/, tcId 1..36)     self-attention prefill, spec 1.x inputs
 *   suite 2 (golden/v2/, tcId 101..)     spec 2.0 forms: chunked prefill, decode against a KV cache, packed
 *                                        variable-length batches, and production-shape (Hq=32, Hkv=8, D=128) 4K
 * </pre>
 *
 * <p>Suites by name: {@code default} (every case; the committed golden/ tree), {@code v1}, {@code v2} (each suite
 * version alone), {@code small} (suite-1 edge and estimator cases, seconds), {@code 4k} and {@code 32k} (the long
 * suite-1 cases), {@code smoke} (three tiny cases, for tests).
 */
public final class Suites {
    private Suites() {
    }

    /** Every case of suite version 1, in tcId order. */
    public static final List<CaseSpec> V1 = List.copyOf(build());
    /** Every case of suite version 2, in tcId order. */
    public static final List<CaseSpec> V2 = List.copyOf(buildV2());
    /** Every case, in tcId order: the committed golden/ tree. */
    public static final List<CaseSpec> ALL = concat(V1, V2);

    /** The suite names, in the order help lists them. */
    public static final List<String> NAMES = List.of("default", "v1", "v2", "small", "4k", "32k", "smoke");

    /** The cases of a suite. @throws BadInputException for an unknown suite name */
    public static List<CaseSpec> suite(String name) {
        return switch (name) {
            case "default" -> ALL;
            case "v1" -> V1;
            case "v2" -> V2;
            case "small" -> V1.stream().filter(c -> c.shape().seqLen() < 4096).toList();
            case "4k" -> V1.stream().filter(c -> c.shape().seqLen() == 4096).toList();
            case "32k" -> V1.stream().filter(c -> c.shape().seqLen() == 32768).toList();
            case "smoke" -> V1.stream().filter(c -> c.tcId() == 1 || c.tcId() == 7 || c.tcId() == 24).toList();
            default -> throw new BadInputException("unknown suite '" + name + "' (known: " + String.join(", ", NAMES)
                    + ")");
        };
    }

    private static List<CaseSpec> concat(List<CaseSpec> a, List<CaseSpec> b) {
        List<CaseSpec> out = new ArrayList<>(a);
        out.addAll(b);
        return List.copyOf(out);
    }

    /** A case by tcId (as a decimal string) or by name. @throws BadInputException for an unknown case */
    public static CaseSpec find(String idOrName) {
        for (CaseSpec c : ALL) {
            if (c.name().equals(idOrName) || Integer.toString(c.tcId()).equals(idOrName)) {
                return c;
            }
        }
        throw new BadInputException("unknown case '" + idOrName + "' (cases are tcId 1.." + V1.size() + " and "
                + V2.get(0).tcId() + ".." + V2.get(V2.size() - 1).tcId() + " or names such as " + ALL.get(0).name()
                + "; run `swiattn golden list`)");
    }

    /**
     * Every 32K case has the same inputs (seed 32768): they differ in window and route only, so a user generates
     * the 32K inputs once, and the full-branch LSE of every row is shared by the six cases.
     */
    public static final long SEED_32K = 32768;
    /** The query head whose LSE is stored for every row in 32K cases: 5 reads kv head 1 (5 / 4), not 5 % 8. */
    public static final int LSE_ALL_HEAD = 5;

    private static List<CaseSpec> build() {
        List<CaseSpec> c = new ArrayList<>();
        // ---- edge cases: sequence and window ----------------------------------------------------------------------
        c.add(b(1, "routed_mha_s1_w1").shape(1, 1, 1, 1, 16).window(1).est(STRAIGHT_THROUGH).route(ALL_FULL, 1)
                .flags("SeqLenOne", "WindowOne").comment("a single token: both branches see only key 0").get());
        c.add(b(2, "routed_gqa2_s64_w1").shape(1, 64, 2, 1, 16).window(1).est(STRAIGHT_THROUGH)
                .flags("WindowOne").comment("w = 1: the window branch returns v_i, its LSE is s_ii").get());
        c.add(b(3, "routed_gqa2_s32_w32").shape(1, 32, 2, 1, 16).window(32).est(SELECTED_BRANCH)
                .flags("WindowEqualsSeqLen").comment("w = S: the window branch equals the full branch").get());
        c.add(b(4, "routed_gqa2_s32_w100").shape(1, 32, 2, 1, 16).window(100).est(SOFT)
                .flags("WindowExceedsSeqLen").comment("w > S: nothing is clamped, the window covers every key").get());
        c.add(b(5, "full_gqa2_s64_w8").shape(1, 64, 4, 2, 16).window(8).est(SELECTED_BRANCH).route(ALL_FULL, 1)
                .flags("AllFull").comment("every token on the full branch: causal attention").get());
        c.add(b(6, "window_gqa2_s64_w8").shape(1, 64, 4, 2, 16).window(8).est(STRAIGHT_THROUGH)
                .route(ALL_WINDOW, 0).flags("AllWindow")
                .comment("every token on the window branch: sliding-window attention, window_size=(7, 0)").get());
        c.add(b(7, "routed_alt_gqa2_s64_w8").shape(1, 64, 4, 2, 16).window(8).est(STRAIGHT_THROUGH)
                .route(ALTERNATING, 0.5).flags("Alternating").comment("z = 1 on even tokens, 0 on odd tokens").get());
        // ---- GQA ratios Hq/Hkv = 1, 2, 4, 8 ---------------------------------------------------------------------
        c.add(b(8, "routed_mha_s48_w8").shape(1, 48, 4, 4, 16).window(8).est(HARD)
                .flags("GqaRatio1").comment("multi-head attention: Hq = Hkv = 4").get());
        c.add(b(9, "routed_gqa2_s48_w8").shape(1, 48, 4, 2, 16).window(8).est(STRAIGHT_THROUGH)
                .flags("GqaRatio2").comment("Hq = 4, Hkv = 2: head h reads kv head h / 2").get());
        c.add(b(10, "routed_gqa4_s48_w8").shape(1, 48, 8, 2, 16).window(8).est(SELECTED_BRANCH)
                .flags("GqaRatio4").comment("Hq = 8, Hkv = 2: head h reads kv head h / 4 (not h % 2)").get());
        c.add(b(11, "routed_gqa8_s48_w8").shape(1, 48, 8, 1, 16).window(8).est(SOFT)
                .flags("GqaRatio8").comment("Hq = 8, Hkv = 1: multi-query attention").get());
        // ---- head dimensions ------------------------------------------------------------------------------------
        c.add(b(12, "routed_gqa2_s40_w8_d1").shape(1, 40, 2, 1, 1).window(8).est(STRAIGHT_THROUGH)
                .flags("HeadDim1").comment("D = 1, scale = 1").get());
        c.add(b(13, "routed_gqa2_s40_w8_d16").shape(1, 40, 2, 1, 16).window(8).est(SELECTED_BRANCH)
                .flags("HeadDim16").comment("D = 16").get());
        c.add(b(14, "routed_gqa2_s40_w8_d64").shape(1, 40, 2, 1, 64).window(8).est(SOFT)
                .flags("HeadDim64").comment("D = 64").get());
        c.add(b(15, "routed_gqa2_s40_w8_d128").shape(1, 40, 2, 1, 128).window(8).est(HARD)
                .flags("HeadDim128").comment("D = 128").get());
        c.add(b(16, "routed_gqa2_s40_w8_d256").shape(1, 40, 2, 1, 256).window(8).est(STRAIGHT_THROUGH)
                .flags("HeadDim256").comment("D = 256").get());
        // ---- magnitudes and router edge cases -------------------------------------------------------------------
        c.add(b(17, "routed_gqa2_s64_w16_large_scores").shape(1, 64, 4, 2, 16).window(16).est(STRAIGHT_THROUGH)
                .amp(16, 16).flags("LargeScores")
                .comment("q, k in [-16, 16]: |s| up to hundreds, softmax close to one-hot").get());
        c.add(b(18, "routed_gqa2_s64_w16_huge_scores").shape(1, 64, 4, 2, 16).window(16).est(SELECTED_BRANCH)
                .amp(64, 64).flags("LargeScores", "HugeScores")
                .comment("q, k in [-64, 64]: |s| in the thousands; exp overflows without max subtraction").get());
        c.add(b(19, "routed_gqa2_s64_w16_zero_logits").shape(1, 64, 4, 2, 16).window(16).est(SELECTED_BRANCH)
                .route(RANDOM_ZERO_LOGITS, 0.5).flags("ZeroLogit")
                .comment("every third router logit is exactly 0: z = 0 (window), p = 1/2").get());
        c.add(b(20, "routed_gqa2_s64_w16_saturated").shape(1, 64, 4, 2, 16).window(16).est(STRAIGHT_THROUGH)
                .route(SATURATED, 0.5).flags("SaturatedRouter")
                .comment("|a| in [30, 38]: p(1-p) ~ 1e-14, sigmoid must not overflow or cancel").get());
        c.add(b(21, "routed_gqa2_b2_s40_w8").shape(2, 40, 4, 2, 16).window(8).est(SOFT)
                .flags("Batch").comment("B = 2 with different routes per batch row").get());
        c.add(b(22, "routed_gqa2_s40_w8_scale_half").shape(1, 40, 4, 2, 16).window(8).est(STRAIGHT_THROUGH)
                .scale(0.5).flags("CustomScale").comment("scale = 0.5 instead of 1/sqrt(D) = 0.25").get());
        // ---- every estimator on one configuration ---------------------------------------------------------------
        for (Estimator e : Estimator.values()) {
            String suffix = switch (e) {
                case HARD -> "hard";
                case STRAIGHT_THROUGH -> "ste";
                case SELECTED_BRANCH -> "sb";
                case SOFT -> "soft";
            };
            c.add(b(23 + e.ordinal(), "routed_gqa2_s64_w16_" + suffix).shape(1, 64, 4, 2, 16).window(16).est(e)
                    .flags("Estimator").comment("estimator " + e + " on a random half-full route").get());
        }
        c.add(b(27, "routed_gqa4_s512_w128").shape(1, 512, 4, 1, 32).window(128).est(STRAIGHT_THROUGH)
                .route(RANDOM, 0.25).flags("Medium").comment("S = 512, 25% full").get());
        // ---- 4K, stored whole -----------------------------------------------------------------------------------
        c.add(b(28, "routed_gqa2_s4096_w1024").shape(1, 4096, 2, 1, 16).window(1024).est(STRAIGHT_THROUGH)
                .route(RANDOM, 0.25).flags("Long4K").comment("S = 4096, w = 1024, 25% full, forward and backward")
                .get());
        c.add(b(29, "routed_mha_s4096_w512_d64").shape(1, 4096, 1, 1, 64).window(512).est(HARD)
                .route(RANDOM, 0.1).forwardOnly().flags("Long4K", "ForwardOnly")
                .comment("S = 4096, w = 512, D = 64, 10% full, inference (forward only)").get());
        c.add(b(30, "routed_gqa2_s4096_w128_sb").shape(1, 4096, 2, 1, 8).window(128).est(SELECTED_BRANCH)
                .route(RANDOM, 0.5).flags("Long4K")
                .comment("S = 4096, w = 128, 50% full, selected-branch gradients").get());
        // ---- 32K, sampled: Hq = 32, Hkv = 8, D = 128 ------------------------------------------------------------
        int id = 31;
        for (int w : new int[] {1024, 4096}) {
            for (int pct : new int[] {10, 25, 50}) {
                Estimator e = (id % 2 == 1) ? STRAIGHT_THROUGH : SELECTED_BRANCH;
                String est = e == STRAIGHT_THROUGH ? "ste" : "sb";
                c.add(b(id, "routed_gqa4_s32768_w" + w + "_f" + pct + "_" + est).shape(1, 32768, 32, 8, 128)
                        .window(w).est(e).route(RANDOM, pct / 100.0).sampled(LSE_ALL_HEAD).seed(SEED_32K)
                        .flags("Long32K", "Sampled")
                        .comment("S = 32768, w = " + w + ", " + pct + "% full; LSE of every row for head "
                                + LSE_ALL_HEAD + ", all heads of 13 sampled rows").get());
                id++;
            }
        }
        return c;
    }

    /** The two production-shape 4K self-attention cases share their inputs (seed 4096), like the 32K cases. */
    public static final long SEED_4K = 4096;

    private static List<CaseSpec> buildV2() {
        List<CaseSpec> c = new ArrayList<>();
        // the production shape of the authors' kernels: Hq = 32, Hkv = 8, D = 128 (with w = 1024)
        int hq = 32;
        int hkv = 8;
        int d = 128;
        // ---- small, stored whole: every form at sizes a person can read -----------------------------------------
        c.add(b2(101, "chunk_gqa2_b2_q12_k16_w8").shape(2, 12, 4, 2, 16).kv(16).window(8)
                .segments(CaseSegments.BOTTOM_RIGHT).est(STRAIGHT_THROUGH).flags("ChunkedPrefill", "ChunkAtWindowEdge",
                        "Batch")
                .comment("a chunk of 12 queries at offset 4 of 16 keys: positions 4..15, the window edge inside the "
                        + "chunk").get());
        c.add(b2(102, "kvcache_gqa2_b4_q3_c24_w8_nan").shape(4, 3, 4, 2, 16).kv(24).window(8)
                .segments(CaseSegments.kvCache(3, 8, 9, 20).withUnusedNaN()).est(SELECTED_BRANCH)
                .flags("KvCache", "ChunkedPrefill", "MixedCacheLengths", "CacheEqualsWindow", "CacheWindowPlusOne",
                        "UnusedSlotsNaN")
                .comment("3 new tokens per sequence on a padded cache of 24 slots, lengths 3, 8, 9, 20; unused slots "
                        + "NaN, their dK, dV exactly 0").get());
        c.add(b2(103, "decode_mha_b6_c32_w8").shape(6, 1, 2, 2, 16).kv(32).window(8)
                .segments(CaseSegments.kvCache(1, 7, 8, 9, 31, 32)).est(HARD).route(RANDOM_ROWS, 0.5).forwardOnly()
                .flags("Decode", "MixedCacheLengths", "CacheLengthOne", "CacheShorterThanWindow", "CacheEqualsWindow",
                        "CacheWindowPlusOne", "ForwardOnly")
                .comment("one decode step for 6 sequences with cache lengths 1, 7, 8, 9, 31, 32 (capacity 32)").get());
        c.add(b2(104, "packed_gqa2_s40_w8").shape(1, 40, 4, 2, 16).window(8)
                .segments(CaseSegments.packedSelf(1, 5, 8, 9, 17)).est(SOFT)
                .flags("Packed", "SegmentOfOne", "SegmentShorterThanWindow", "SegmentEqualsWindow")
                .comment("documents of lengths 1, 5, 8, 9, 17 packed into 40 rows; positions restart per document")
                .get());
        c.add(b2(105, "packed_varlen_gqa2_q12_k40_w8_sb").shape(1, 12, 4, 2, 16).kv(40).window(8)
                .segments(CaseSegments.packed(new int[] {1, 0, 2, 4, 5}, new int[] {1, 3, 10, 8, 18}))
                .est(SELECTED_BRANCH)
                .flags("Packed", "ChunkedPrefill", "SegmentOfOne", "EmptyQuerySegment")
                .comment("packed chunked prefill: 5 documents with 1, 0, 2, 4, 5 new queries over 1, 3, 10, 8, 18 keys")
                .get());
        // ---- decode in the production shape: forward only, stored whole ------------------------------------------
        CaseSegments mixed4k = CaseSegments.kvCache(1, 100, 1023, 1024, 1025, 2048, 4095, 4096);
        for (boolean nan : new boolean[] {false, true}) {
            c.add(b2(nan ? 107 : 106, "decode_gqa4_b8_c4096_w1024" + (nan ? "_nan" : "")).shape(8, 1, hq, hkv, d)
                    .kv(4096).window(1024).segments(nan ? mixed4k.withUnusedNaN() : mixed4k).est(HARD)
                    .route(RANDOM_ROWS, 0.5).forwardOnly().seed(106)
                    .flags(nan ? new String[] {"Decode", "ProductionShape", "MixedCacheLengths",
                        "CacheShorterThanWindow", "CacheEqualsWindow", "CacheWindowPlusOne", "ForwardOnly",
                        "UnusedSlotsNaN"} : new String[] {"Decode", "ProductionShape", "MixedCacheLengths",
                        "CacheShorterThanWindow", "CacheEqualsWindow", "CacheWindowPlusOne", "ForwardOnly"})
                    .comment("decode for 8 sequences, cache lengths 1, 100, 1023, 1024, 1025, 2048, 4095, 4096 of "
                            + "4096" + (nan ? "; unused slots NaN: outputs equal case 106 bit for bit" : "")).get());
        }
        c.add(b2(108, "decode_gqa4_b3_c32768_w1024").shape(3, 1, hq, hkv, d).kv(32768).window(1024)
                .segments(CaseSegments.kvCache(32768, 24577, 32768)).est(HARD).route(RANDOM_ROWS, 0.67).forwardOnly()
                .flags("Decode", "ProductionShape", "MixedCacheLengths", "Long32K", "ForwardOnly")
                .comment("decode for 3 sequences at cache lengths 32768, 24577, 32768, two full-routed").get());
        // ---- chunked prefill in the production shape, sampled with the row-restricted loss -----------------------
        c.add(b2(109, "chunk_gqa4_q512_k4096_w1024_ste").shape(1, 512, hq, hkv, d).kv(4096).window(1024)
                .segments(CaseSegments.BOTTOM_RIGHT).est(STRAIGHT_THROUGH).route(RANDOM, 0.25).sampled(LSE_ALL_HEAD)
                .flags("ChunkedPrefill", "ProductionShape", "Long4K", "Sampled")
                .comment("the last 512-row chunk of 4096 (offset 3584), 25% full; gradients reach the cached keys")
                .get());
        c.add(b2(110, "chunk_gqa4_q512_k32768_w1024_sb").shape(1, 512, hq, hkv, d).kv(32768).window(1024)
                .segments(CaseSegments.BOTTOM_RIGHT).est(SELECTED_BRANCH).route(RANDOM, 0.5).sampled(LSE_ALL_HEAD)
                .flags("ChunkedPrefill", "ProductionShape", "Long32K", "Sampled")
                .comment("the last 512-row chunk of 32768 (offset 32256), 50% full, selected-branch gradients").get());
        // ---- packed documents with backward -----------------------------------------------------------------------
        c.add(b2(111, "packed_gqa2_s4096_w1024_ste").shape(1, 4096, 2, 1, 8).window(1024)
                .segments(CaseSegments.packedSelf(1, 700, 1024, 1025, 1346)).est(STRAIGHT_THROUGH).route(RANDOM, 0.25)
                .flags("Packed", "Long4K", "SegmentOfOne", "SegmentShorterThanWindow", "SegmentEqualsWindow")
                .comment("documents of lengths 1, 700, 1024, 1025, 1346 packed into 4096 rows, stored whole").get());
        c.add(b2(112, "packed_gqa4_s4096_w1024_soft").shape(1, 4096, hq, hkv, d).window(1024)
                .segments(CaseSegments.packedSelf(1, 300, 1024, 1025, 1746)).est(SOFT).route(RANDOM, 0.5)
                .sampled(LSE_ALL_HEAD)
                .flags("Packed", "ProductionShape", "Long4K", "Sampled", "SegmentOfOne", "SegmentShorterThanWindow",
                        "SegmentEqualsWindow")
                .comment("documents of lengths 1, 300, 1024, 1025, 1746 packed into 4096, the production shape").get());
        // ---- self-attention prefill in the production shape at 4K, sampled like the 32K cases --------------------
        c.add(b2(113, "routed_gqa4_s4096_w1024_f25_ste").shape(1, 4096, hq, hkv, d).window(1024)
                .est(STRAIGHT_THROUGH).route(RANDOM, 0.25).sampled(LSE_ALL_HEAD).seed(SEED_4K)
                .flags("ProductionShape", "Long4K", "Sampled")
                .comment("S = 4096 in the production shape, 25% full; sampled rows, LSE of every row for head "
                        + LSE_ALL_HEAD).get());
        c.add(b2(114, "routed_gqa4_s4096_w1024_f50_sb").shape(1, 4096, hq, hkv, d).window(1024)
                .est(SELECTED_BRANCH).route(RANDOM, 0.5).sampled(LSE_ALL_HEAD).seed(SEED_4K)
                .flags("ProductionShape", "Long4K", "Sampled")
                .comment("S = 4096 in the production shape, 50% full, selected-branch gradients").get());
        return c;
    }

    private static Builder b(int tcId, String name) {
        return new Builder(tcId, name, 1);
    }

    private static Builder b2(int tcId, String name) {
        return new Builder(tcId, name, 2);
    }

    /** A readable way to write one row of the table; defaults: RANDOM route 50% full, amps 1, backward, seed tcId. */
    private static final class Builder {
        private final int tcId;
        private final String name;
        private Shape shape;
        private int window;
        private double scale = Double.NaN;
        private Estimator est = STRAIGHT_THROUGH;
        private CaseSpec.RouteKind route = RANDOM;
        private double fraction = 0.5;
        private double ampQ = 1;
        private double ampK = 1;
        private boolean backward = true;
        private CaseSpec.Kind kind = CaseSpec.Kind.WHOLE;
        private int lseHead = -1;
        private long seed = -1;
        private String[] flags = {};
        private String comment = "";
        private final int version;
        private CaseSegments segments = CaseSegments.SELF;

        Builder(int tcId, String name, int version) {
            this.tcId = tcId;
            this.name = name;
            this.version = version;
        }

        Builder shape(int b, int s, int hq, int hkv, int d) {
            shape = new Shape(b, s, hq, hkv, d);
            return this;
        }

        /** Sk: key rows per batch row (default Sq); suite 2 only. */
        Builder kv(int sk) {
            shape = new Shape(shape.batch(), shape.seqLen(), shape.qHeads(), shape.kvHeads(), shape.headDim(), sk);
            return this;
        }

        /** How queries align to keys; suite 2 only. */
        Builder segments(CaseSegments s) {
            segments = s;
            return this;
        }

        Builder window(int w) {
            window = w;
            return this;
        }

        Builder scale(double s) {
            scale = s;
            return this;
        }

        Builder est(Estimator e) {
            est = e;
            return this;
        }

        Builder route(CaseSpec.RouteKind kind, double f) {
            route = kind;
            fraction = f;
            return this;
        }

        Builder amp(double q, double k) {
            ampQ = q;
            ampK = k;
            return this;
        }

        Builder forwardOnly() {
            backward = false;
            return this;
        }

        Builder sampled(int head) {
            kind = CaseSpec.Kind.SAMPLED;
            lseHead = head;
            return this;
        }

        Builder seed(long s) {
            seed = s;
            return this;
        }

        Builder flags(String... f) {
            flags = f;
            return this;
        }

        Builder comment(String text) {
            comment = text;
            return this;
        }

        CaseSpec get() {
            return new CaseSpec(tcId, name, kind, shape, window, scale, est, route, fraction, seed >= 0 ? seed : tcId,
                    ampQ, ampK, 1, 1,
                    backward, lseHead, Arrays.asList(flags), comment, version, segments);
        }
    }

    /** Every flag used, with the number of cases that carry it (for README and tests). */
    public static Map<String, Long> flagCounts() {
        Map<String, Long> m = new LinkedHashMap<>();
        for (CaseSpec c : ALL) {
            for (String f : c.flags()) {
                m.merge(f, 1L, Long::sum);
            }
        }
        return m;
    }

    /** Names of the cases of a suite, comma-separated (for messages). */
    public static String names(List<CaseSpec> cases) {
        return cases.stream().map(CaseSpec::name).collect(Collectors.joining(", "));
    }
}
