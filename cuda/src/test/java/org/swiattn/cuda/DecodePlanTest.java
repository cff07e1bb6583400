package org.swiattn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.swiattn.spec.InvalidInputException;

/**
 * The decode work list: every visible key of every (row, kv head) in exactly one piece, pieces balanced and in
 * order, launch order (b, piece, g), partial rows numbered per pair; and the piece size the planner picks for the
 * production shape on an H200's 264 resident blocks. No GPU.
 */
class DecodePlanTest {
    static final int H200_SLOTS = 132 * 2;

    @Test
    void piecesTileEveryRowsRangeExactlyOnceBalancedAndInLaunchOrder() {
        SplittableRandom rnd = new SplittableRandom(3);
        int checked = 0;
        for (int trial = 0; trial < 300; trial++) {
            int batch = 1 + rnd.nextInt(130);
            int hkv = 1 + rnd.nextInt(8);
            int slots = trial % 3 == 0 ? 1 : 1 + rnd.nextInt(600);
            int[] first = new int[batch];
            int[] end = new int[batch];
            for (int b = 0; b < batch; b++) {
                end[b] = 1 + rnd.nextInt(40000);
                first[b] = rnd.nextBoolean() ? 0 : Math.max(0, end[b] - 1 - rnd.nextInt(2000));
            }
            DecodePlan p = DecodePlan.of(first, end, hkv, slots);
            int[] it = p.items();
            int pairs = batch * hkv;
            assertThat(p.rowStart()).hasSize(pairs);
            int parts = 0;
            for (int pair = 0; pair < pairs; pair++) {
                assertThat(p.rowStart()[pair]).isEqualTo(parts);
                parts += p.rowCount()[pair];
            }
            assertThat(p.count()).as("one item per piece").isEqualTo(parts);
            // launch order: b ascending, then piece, then g; each piece starts where the previous one ended
            int at = 0;
            for (int b = 0; b < batch; b++) {
                int k = p.rowCount()[b * hkv];
                int tiles = (end[b] - first[b] + 63) / 64;
                int next = first[b];
                for (int i = 0; i < k; i++) {
                    int lo = it[4 * at + 2];
                    int hi = it[4 * at + 3];
                    assertThat(lo).isEqualTo(next);
                    assertThat(hi).isGreaterThan(lo);
                    int pieceTiles = (hi - lo + 63) / 64;
                    assertThat(pieceTiles).isBetween(tiles / k, tiles / k + 1);
                    for (int g = 0; g < hkv; g++) {
                        assertThat(it[4 * at]).isEqualTo(b * hkv + g);
                        assertThat(it[4 * at + 1]).isEqualTo(i);
                        assertThat(it[4 * at + 2]).isEqualTo(lo);
                        assertThat(it[4 * at + 3]).isEqualTo(hi);
                        assertThat(p.rowCount()[b * hkv + g]).isEqualTo(k);
                        at++;
                    }
                    next = hi;
                }
                assertThat(next).isEqualTo(end[b]);
            }
            assertThat(at).isEqualTo(p.count());
            if (slots == 1) {
                assertThat(p.count()).as("one slot: splitting only adds work").isEqualTo(pairs);
            }
            checked++;
        }
        assertThat(checked).isEqualTo(300);
    }

    @Test
    void productionShapeDecodeFillsTheDeviceOnceWithoutNeedlessSplits() {
        int hkv = 8;
        int cache = 32768;
        // B = 32, every row full: 256 pairs of 512 tiles already fill 264 slots once: no pair is split
        DecodePlan b32 = plan(32, cache, cache, hkv);
        assertThat(b32.count()).isEqualTo(256);
        // B = 1, full: 8 pairs of 512 tiles: split so that one wave holds every piece, and at least half the slots
        DecodePlan b1 = plan(1, cache, cache, hkv);
        assertThat(b1.count()).isBetween(H200_SLOTS / 2, H200_SLOTS);
        // B = 1, window (1024 keys = 16 tiles per pair, 128 tiles in all, fewer than the slots): single tiles
        DecodePlan w1 = plan(1, cache, 1024, hkv);
        assertThat(w1.count()).isEqualTo(128);
    }

    private static DecodePlan plan(int batch, int cache, int visible, int hkv) {
        int[] first = new int[batch];
        int[] end = new int[batch];
        Arrays.fill(first, cache - visible);
        Arrays.fill(end, cache);
        return DecodePlan.of(first, end, hkv, H200_SLOTS);
    }

    @Test
    void aRowWithoutKeysOrNoSlotsIsRejectedNamingTheArgument() {
        assertThatThrownBy(() -> DecodePlan.of(new int[] {0, 5}, new int[] {3, 5}, 2, 132))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("cacheSeqlens")
                .hasMessageContaining("row 1");
        assertThatThrownBy(() -> DecodePlan.of(new int[] {0}, new int[] {3}, 2, 0))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("slots")
                .hasMessageContaining("0");
    }
}
