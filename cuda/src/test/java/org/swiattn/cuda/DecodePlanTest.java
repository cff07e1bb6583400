package org.swiattn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.swiattn.spec.InvalidInputException;

/** The decode work list: every visible key of every (row, kv head) in exactly one item, in order. No GPU. */
class DecodePlanTest {

    @Test
    void itemsTileEveryRowsRangeExactlyOnceInOrder() {
        SplittableRandom rnd = new SplittableRandom(3);
        int checked = 0;
        for (int trial = 0; trial < 300; trial++) {
            int batch = 1 + rnd.nextInt(130);
            int hkv = 1 + rnd.nextInt(8);
            int[] first = new int[batch];
            int[] end = new int[batch];
            for (int b = 0; b < batch; b++) {
                end[b] = 1 + rnd.nextInt(40000);
                first[b] = rnd.nextBoolean() ? 0 : Math.max(0, end[b] - 1 - rnd.nextInt(2000));
            }
            DecodePlan p = DecodePlan.of(first, end, hkv, 132);
            int[] it = p.items();
            long blocks = p.count();
            for (int b = 0; b < batch; b++) {
                for (int g = 0; g < hkv; g++) {
                    int s0 = p.rowStart()[b * hkv + g];
                    int n = p.rowCount()[b * hkv + g];
                    assertThat(n).isGreaterThanOrEqualTo(1);
                    int next = first[b];
                    for (int s = s0; s < s0 + n; s++) {
                        assertThat(it[4 * s]).isEqualTo(b);
                        assertThat(it[4 * s + 1]).isEqualTo(g);
                        assertThat(it[4 * s + 2]).isEqualTo(next);
                        assertThat(it[4 * s + 3]).isGreaterThan(next);
                        next = it[4 * s + 3];
                    }
                    assertThat(next).isEqualTo(end[b]);
                }
            }
            // a full GPU: at least 4 blocks per SM whenever there are that many tiles; no piece below one tile
            long tiles = 0;
            for (int b = 0; b < batch; b++) {
                tiles += (long) ((end[b] - first[b] + 63) / 64) * hkv;
            }
            assertThat(blocks).isGreaterThanOrEqualTo(Math.min(tiles, 4L * 132) / 2);
            checked++;
        }
        assertThat(checked).isEqualTo(300);
    }

    @Test
    void aRowWithoutKeysIsRejectedNamingTheArgument() {
        assertThatThrownBy(() -> DecodePlan.of(new int[] {0, 5}, new int[] {3, 5}, 2, 132))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("cacheSeqlens")
                .hasMessageContaining("row 1");
    }
}
