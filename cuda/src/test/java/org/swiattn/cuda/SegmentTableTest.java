package org.swiattn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * The host side of the segment-table kernels without a GPU: the table the kernels read (common.cuh, swi_rows) maps
 * every query row to its spec position and key start, the host compaction holds each segment's rows in its own list,
 * the plan names the _seg kernels and sizes their grids. The kernels themselves are checked on the CPU emulation
 * (cuda/src/test/emulator/segments.cpp) and on the GPU (the CudaFp64/Fp32Segment property classes).
 */
class SegmentTableTest {
    /** The table forms of spec 2.0, small: chunked prefill, a KV cache of mixed lengths, packed, packed self. */
    private static List<Segments> tables() {
        List<Segments> t = new ArrayList<>();
        t.add(Segments.bottomRight(new Shape(2, 3, 2, 1, 16, 11)));
        Shape cache = new Shape(3, 2, 2, 1, 16, 10);
        t.add(Segments.kvCache(cache, new int[] {10, 5, 2}));
        Shape packed = new Shape(1, 9, 2, 1, 16, 20);
        t.add(Segments.packed(packed, new int[] {0, 1, 1, 6, 9}, new int[] {0, 4, 7, 15, 20}));
        t.add(Segments.packedSelf(new Shape(1, 12, 2, 1, 16), new int[] {0, 1, 8, 12}));
        return t;
    }

    private static int field(int[] table, int n, int which, int s) {
        return table[which * n + s];
    }

    @Test
    void theTableMapsEveryQueryRowToItsPositionAndKeyStart() {
        int rows = 0;
        for (Segments seg : tables()) {
            SegmentTable t = SegmentTable.of(seg);
            int n = t.count();
            int[] table = t.table();
            assertThat(table).hasSize(5 * n);
            for (int r = 0; r < seg.queryRows(); r++) {
                int s = seg.segmentOf(r);
                int p = seg.position(r);
                assertThat(field(table, n, 0, s) + p).as("qBase + position of row " + r + " in " + seg).isEqualTo(r);
                assertThat(field(table, n, 1, s)).as("kStart of row " + r).isEqualTo(seg.keyStart(r));
                assertThat(p).isLessThan(field(table, n, 2, s));  // the row's own key exists
                assertThat(r).isBetween(field(table, n, 3, s), field(table, n, 3, s) + field(table, n, 4, s) - 1);
                assertThat(t.firstPosition(s)).isLessThanOrEqualTo(p);
                rows++;
            }
            int maxQ = 0;
            int maxK = 0;
            for (int s = 0; s < n; s++) {
                maxQ = Math.max(maxQ, seg.qLen(s));
                maxK = Math.max(maxK, seg.kLen(s));
            }
            assertThat(t.maxQueries()).isEqualTo(maxQ);
            assertThat(t.maxKeys()).isEqualTo(maxK);
        }
        assertThat(rows).isEqualTo(6 + 6 + 9 + 12);
    }

    @Test
    void hostCompactionListsEachSegmentsRowsByBranchInOrder() {
        SplittableRandom rnd = new SplittableRandom(11);
        int checked = 0;
        for (Segments seg : tables()) {
            SegmentTable t = SegmentTable.of(seg);
            boolean[] mask = new boolean[seg.queryRows()];
            for (int r = 0; r < mask.length; r++) {
                mask[r] = rnd.nextBoolean();
            }
            Route route = Route.ofMask(1, mask.length, mask);
            RouteCompaction.HostLists l = t.compact(route);
            for (int s = 0; s < seg.count(); s++) {
                List<Integer> full = new ArrayList<>();
                List<Integer> window = new ArrayList<>();
                for (int r = seg.qStart(s); r < seg.qStart(s) + seg.qLen(s); r++) {
                    (mask[r] ? full : window).add(seg.position(r));
                }
                assertThat(l.nF()[s]).isEqualTo(full.size());
                assertThat(l.nW()[s]).isEqualTo(window.size());
                for (int m = 0; m < full.size(); m++) {
                    assertThat(l.listF()[seg.qStart(s) + m]).isEqualTo(full.get(m));
                }
                for (int m = 0; m < window.size(); m++) {
                    assertThat(l.listW()[seg.qStart(s) + m]).isEqualTo(window.get(m));
                }
                checked++;
            }
            int[][] id = t.identityLists();
            for (int r = 0; r < seg.queryRows(); r++) {
                assertThat(id[0][r]).isEqualTo(seg.position(r));
            }
            for (int s = 0; s < seg.count(); s++) {
                assertThat(id[1][s]).isEqualTo(seg.qLen(s));
            }
        }
        assertThat(checked).isEqualTo(2 + 3 + 4 + 3);
    }

    @Test
    void thePlanNamesTheSegmentKernelsAndSizesTheirGrids() {
        Shape sh = new Shape(1, 9, 4, 2, 64, 20);
        SegmentTable t = SegmentTable.of(Segments.packed(sh, new int[] {0, 1, 1, 6, 9}, new int[] {0, 4, 7, 15, 20}));
        KernelPlan.Choice f = KernelPlan.segments(KernelPlan.forward(Precision.FP64, 64, null));
        assertThat(f.name()).isEqualTo("swi_fwd_v9_f64_d64_seg");
        assertThat(KernelPlan.segments(KernelPlan.forward(Precision.FP32, 40, null)).name())
                .isEqualTo("swi_fwd_v2_f32_d64_seg");
        KernelPlan.Choice[] b = KernelPlan.backward(Precision.FP64, 64, null);
        assertThat(KernelPlan.segments(b[0]).name()).isEqualTo("swi_bwd_dkdv_v11_f64_d64_seg");
        assertThat(KernelPlan.segments(b[1]).name()).isEqualTo("swi_bwd_dq_v11_f64_d64_seg");
        // 4 segments, the longest has 5 queries (one 128-row tile + 1) and 8 keys (one 64-key tile)
        assertThat(KernelPlan.queryGrid(f, t, sh)).containsExactly((1 + 1) * 4 * 4, 1, 1);
        assertThat(KernelPlan.keyGrid(KernelPlan.segments(b[0]), t, sh)).containsExactly(1, 2, 4);
        assertThatThrownBy(() -> KernelPlan.segments(KernelPlan.forward(Precision.FP64, 300, null)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("headDim")
                .hasMessageContaining("swi_fwd_v1_f64");
    }

    @Test
    void moreSegmentsThanTheGridHoldsAreRefusedNamingThem() {
        int n = KernelPlan.GRID_YZ_MAX + 1;
        Shape sh = new Shape(1, n, 1, 1, 16);
        int[] cu = new int[n + 1];
        for (int s = 0; s <= n; s++) {
            cu[s] = s;
        }
        SegmentTable t = SegmentTable.of(Segments.packedSelf(sh, cu));
        assertThatThrownBy(() -> KernelPlan.checkShape(sh, t)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("segments").hasMessageContaining(String.valueOf(n));
    }
}
