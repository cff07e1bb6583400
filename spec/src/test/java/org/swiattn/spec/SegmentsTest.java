package org.swiattn.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The segment table of spec 2.0: positions, visible key rows, and the error contract of its arguments. */
class SegmentsTest {

    private static void assertRejected(Runnable call, String argument, String... fragments) {
        assertThatThrownBy(call::run).isInstanceOf(InvalidInputException.class)
                .satisfies(e -> assertThat(((InvalidInputException) e).argument()).isEqualTo(argument))
                .hasMessageContainingAll(fragments);
    }

    @Test
    void selfAttentionIsPositionsZeroToSMinusOnePerBatchRow() {
        Shape sh = new Shape(2, 5, 2, 1, 4);
        Segments seg = Segments.selfAttention(sh);
        assertThat(seg.isSelfAttention()).isTrue();
        assertThat(seg.count()).isEqualTo(2);
        for (int r = 0; r < 10; r++) {
            assertThat(seg.position(r)).isEqualTo(r % 5);
            assertThat(seg.keyStart(r)).isEqualTo((r / 5) * 5);
            assertThat(Visibility.lastKeyRow(seg, r)).isEqualTo(r);
        }
        // window 2: query row 7 (b=1, i=2) sees key rows 6, 7
        assertThat(Visibility.firstKeyRow(seg, 7, false, 2)).isEqualTo(6);
        assertThat(Visibility.firstKeyRow(seg, 7, true, 2)).isEqualTo(5);
        assertThat(Segments.bottomRight(sh)).isEqualTo(seg);
    }

    @Test
    void chunkedPrefillIsBottomRightAligned() {
        // a chunk of 3 queries at the end of a cache of 8 keys: positions 5, 6, 7
        Shape sh = new Shape(2, 3, 1, 1, 4, 8);
        Segments seg = Segments.bottomRight(sh);
        assertThat(seg.isSelfAttention()).isFalse();
        assertThat(seg.position(0)).isEqualTo(5);
        assertThat(seg.position(2)).isEqualTo(7);
        assertThat(seg.position(3)).isEqualTo(5);
        assertThat(seg.keyStart(4)).isEqualTo(8);
        assertThat(Visibility.lastKeyRow(seg, 4)).isEqualTo(8 + 6);
        assertThat(Visibility.firstKeyRow(seg, 4, false, 4)).isEqualTo(8 + 3);
    }

    @Test
    void decodeReadsOnlyTheValidPartOfEachCache() {
        Shape sh = new Shape(3, 1, 4, 2, 8, 16);
        Segments seg = Segments.kvCache(sh, new int[] {1, 16, 5});
        assertThat(seg.position(0)).isZero();
        assertThat(seg.position(1)).isEqualTo(15);
        assertThat(seg.position(2)).isEqualTo(4);
        assertThat(seg.keyStart(2)).isEqualTo(32);
        assertThat(seg.keyRowUsed(0)).isTrue();
        assertThat(seg.keyRowUsed(1)).isFalse();          // slot 1 of a cache of length 1
        assertThat(seg.keyRowUsed(31)).isTrue();
        assertThat(seg.keyRowUsed(36)).isTrue();
        assertThat(seg.keyRowUsed(37)).isFalse();
        assertThat(seg.keyLengths()).containsExactly(1, 16, 5);
    }

    @Test
    void packedSegmentsRestartPositionsAndNeverCross() {
        Shape sh = new Shape(1, 10, 1, 1, 4);
        Segments seg = Segments.packedSelf(sh, new int[] {0, 1, 1, 7, 10});
        assertThat(seg.count()).isEqualTo(4);
        assertThat(seg.position(0)).isZero();
        assertThat(seg.position(1)).isZero();
        assertThat(seg.segmentOf(1)).isEqualTo(2);       // the empty segment 1 holds no row
        assertThat(seg.position(6)).isEqualTo(5);
        assertThat(seg.position(7)).isZero();
        assertThat(seg.keyStart(8)).isEqualTo(7);
        assertThat(Segments.fromSegmentIds(sh, new int[] {4, 9, 9, 9, 9, 9, 9, 12, 12, 12}))
                .satisfies(t -> assertThat(t.cuSeqlensQ()).containsExactly(0, 1, 7, 10));
        // packed with different query and key counts: the last 2 of 5 keys, then 1 of 1
        Shape pk = new Shape(1, 3, 1, 1, 4, 6);
        Segments p = Segments.packed(pk, new int[] {0, 2, 3}, new int[] {0, 5, 6});
        assertThat(p.position(0)).isEqualTo(3);
        assertThat(p.position(1)).isEqualTo(4);
        assertThat(p.position(2)).isZero();
        assertThat(p.keyStart(2)).isEqualTo(5);
    }

    @Test
    void malformedMetadataIsRejectedNamingTheArgument() {
        Shape sh = new Shape(1, 10, 1, 1, 4);
        assertRejected(() -> Segments.packedSelf(sh, new int[] {0, 6, 4, 10}), "cuSeqlens",
                "non-decreasing", "cuSeqlens[1] = 6 > cuSeqlens[2] = 4");
        assertRejected(() -> Segments.packedSelf(sh, new int[] {1, 10}), "cuSeqlens", "must start at 0");
        assertRejected(() -> Segments.packedSelf(sh, new int[] {0, 9}), "cuSeqlens", "ends at 9", "10");
        assertRejected(() -> Segments.packedSelf(sh, new int[] {0}), "cuSeqlens", "at least 2");
        assertRejected(() -> Segments.packedSelf(sh, null), "cuSeqlens", "is null");
        Shape pk = new Shape(1, 3, 1, 1, 4, 6);
        assertRejected(() -> Segments.packed(pk, new int[] {0, 3}, new int[] {0, 2, 6}), "cuSeqlensK",
                "2 segments", "1");
        assertRejected(() -> Segments.packed(pk, new int[] {0, 3, 3}, new int[] {0, 2, 6}), "segments",
                "segment 0 has 3 queries but only 2 keys");
        assertRejected(() -> Segments.fromSegmentIds(sh, new int[] {0, 0, 1, 1, 0, 2, 2, 2, 2, 2}), "segmentIds",
                "non-decreasing", "segmentIds[3] = 1 then segmentIds[4] = 0");
        Shape dec = new Shape(2, 1, 1, 1, 4, 8);
        assertRejected(() -> Segments.kvCache(dec, new int[] {3, 9}), "cacheSeqlens",
                "cacheSeqlens[1] = 9 exceeds the cache capacity Sk = 8");
        assertRejected(() -> Segments.kvCache(dec, new int[] {0, 2}), "cacheSeqlens", "cacheSeqlens[0] = 0",
                "below Sq = 1");
        assertRejected(() -> Segments.kvCache(dec, new int[] {1}), "cacheSeqlens", "length must be B = 2");
        assertRejected(() -> Segments.bottomRight(new Shape(1, 5, 1, 1, 4, 3)), "segments", "Sq <= Sk",
                "Sq=5, Sk=3");
        assertRejected(() -> Segments.selfAttention(dec), "segments", "Sq = Sk");
        Shape t = new Shape(1, 4, 1, 1, 4, 8);
        assertRejected(() -> Segments.of(t, new int[] {0, 3}, new int[] {2, 1}, new int[] {0, 1},
                new int[] {3, 3}), "segments", "segment 1 starts at query row 3", "end at 2");
        assertRejected(() -> Segments.of(t, new int[] {0, 2}, new int[] {2, 2}, new int[] {0, 2},
                new int[] {3, 3}), "segments", "segment 1 starts at key row 2", "disjoint");
        assertRejected(() -> Segments.of(t, new int[] {0, 2}, new int[] {2, 2}, new int[] {0, 6},
                new int[] {3, 3}), "segments", "key rows [6, 9) outside [0, B*Sk) = [0, 8)");
        assertRejected(() -> Segments.of(t, new int[] {0}, new int[] {3}, new int[] {0}, new int[] {3}), "segments",
                "covers query rows [0, 3)", "B*Sq = 4");
        assertRejected(() -> Segments.of(t, new int[] {0}, new int[] {4}, new int[] {0}, null), "kLen", "is null");
    }

    @Test
    void inputsDefaultToSelfAttentionAndRequireSegmentsWhenRowsDiffer() {
        Shape sh = new Shape(1, 2, 1, 1, 1, 3);
        AttentionInputs.Builder b = AttentionInputs.builder(sh).q(new double[2]).k(new double[3]).v(new double[3])
                .window(1).route(Route.allFull(1, 2));
        assertRejected(b::build, "segments", "Sq=2 differs from Sk=3", "Segments.kvCache");
        AttentionInputs in = b.segments(Segments.bottomRight(sh)).build();
        assertThat(in.segments().position(0)).isEqualTo(1);
        assertThat(in.toBuilder().build().segments()).isEqualTo(in.segments());
        // segments built for another shape
        assertRejected(() -> b.segments(Segments.bottomRight(new Shape(1, 2, 1, 1, 1, 4))).build(), "segments",
                "B*Sk = 3");
        Shape square = new Shape(1, 3, 1, 1, 1);
        AttentionInputs v1 = AttentionInputs.builder(square).q(new double[3]).k(new double[3]).v(new double[3])
                .window(1).route(Route.allFull(1, 3)).build();
        assertThat(v1.segments().isSelfAttention()).isTrue();
        v1.requireSelfAttention("x");
        assertThatThrownBy(() -> in.requireSelfAttention("kernel-x")).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("kernel-x computes self-attention prefill only");
    }

    @Test
    void unusedCacheSlotsMayHoldNaNButUsedKeysMustBeFinite() {
        Shape sh = new Shape(2, 1, 1, 1, 2, 3);
        double[] k = {1, 2, Double.NaN, 0, Double.NaN, Double.NaN, 1, 1, 2, 2, 3, 3};
        double[] v = k.clone();
        Segments seg = Segments.kvCache(sh, new int[] {1, 3});
        AttentionInputs in = AttentionInputs.builder(sh).q(new double[4]).k(k).v(v).window(2)
                .route(Route.allFull(2, 1)).segments(seg).build();
        assertThat(in.segments().keyRowUsed(1)).isFalse();
        Segments longer = Segments.kvCache(sh, new int[] {2, 3});
        assertRejected(() -> in.toBuilder().segments(longer).build(), "k", "non-finite value NaN at index 2",
                "b=0, i=1");
    }
}
