package org.swiattn.cuda;

import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;

/**
 * A spec 2.0 segment table (chunked prefill, a KV cache with per-sequence lengths, packed variable-length batches) in
 * the form the {@code _seg} kernels read it (common.cuh, {@code swi_rows}): each segment is one "batch" entry of the
 * tiled kernels, with positions of its own, so visibility, key tiles and list order are those of self-attention.
 *
 * <pre>{@code
 *   table [5][n], segment s:
 *     [0n+s] qBase  = qStart - (kLen - qLen)   flat query row of position p: qBase + p   (p >= kLen - qLen)
 *     [1n+s] kStart                            flat key row of position j:   kStart + j  (0 <= j < kLen)
 *     [2n+s] kLen                              keys (positions 0 .. kLen-1)
 *     [3n+s] qStart                            offset of the segment's compacted lists, its first query row
 *     [4n+s] qLen                              queries (positions kLen-qLen .. kLen-1)
 *   compacted lists [B*Sq]: listF[qStart + m], m < nF[s]: full-routed positions of segment s, ascending (same for W)
 * }</pre>
 * Pure Java: tested without a GPU (SegmentTableTest).
 */
public final class SegmentTable {
    private final int[] table;
    private final int n;
    private final int queryRows;
    private final int maxQueries;
    private final int maxKeys;

    private SegmentTable(Segments segments) {
        n = segments.count();
        queryRows = segments.queryRows();
        table = new int[5 * n];
        int mq = 0;
        int mk = 0;
        for (int s = 0; s < n; s++) {
            int qLen = segments.qLen(s);
            int kLen = segments.kLen(s);
            table[s] = segments.qStart(s) - (kLen - qLen);
            table[n + s] = segments.kStart(s);
            table[2 * n + s] = kLen;
            table[3 * n + s] = segments.qStart(s);
            table[4 * n + s] = qLen;
            mq = Math.max(mq, qLen);
            mk = Math.max(mk, kLen);
        }
        maxQueries = mq;
        maxKeys = mk;
    }

    /**
     * The kernel table of a validated segment table.
     *
     * @param segments not modified
     */
    public static SegmentTable of(Segments segments) {
        return new SegmentTable(segments);
    }

    /** [5*n] the table the kernels read (a copy). */
    public int[] table() {
        return table.clone();
    }

    /** n, the segments (the kernels' "batch" entries). */
    public int count() {
        return n;
    }

    /** The longest segment's queries: list tiles per entry of the query grids. */
    public int maxQueries() {
        return maxQueries;
    }

    /** The longest segment's keys: key tiles per entry of the key grids, and the window clamp. */
    public int maxKeys() {
        return maxKeys;
    }

    /** The position of a segment's first query, {@code kLen - qLen}. */
    public int firstPosition(int s) {
        return table[2 * n + s] - table[4 * n + s];
    }

    /**
     * Route compaction in Java, the host twin of kernel {@code swi_route_compact_seg}: per segment, the positions of
     * its full-routed and window-routed queries, ascending, at the segment's list offset (entries of no list: -1).
     *
     * @param route [B*Sq] flat rows; not modified
     */
    public RouteCompaction.HostLists compact(Route route) {
        int[] listF = new int[queryRows];
        int[] listW = new int[queryRows];
        java.util.Arrays.fill(listF, -1);
        java.util.Arrays.fill(listW, -1);
        int[] nF = new int[n];
        int[] nW = new int[n];
        for (int s = 0; s < n; s++) {
            int qStart = table[3 * n + s];
            for (int i = 0; i < table[4 * n + s]; i++) {
                int pos = firstPosition(s) + i;
                if (route.isFull(qStart + i)) {
                    listF[qStart + nF[s]++] = pos;
                } else {
                    listW[qStart + nW[s]++] = pos;
                }
            }
        }
        return new RouteCompaction.HostLists(listF, nF, listW, nW);
    }

    /**
     * The SOFT estimator's identity lists (every query of each segment on a branch): list[qStart + i] = kLen - qLen
     * + i, count[s] = qLen.
     *
     * @return {list [B*Sq], count [n]}
     */
    public int[][] identityLists() {
        int[] list = new int[queryRows];
        int[] cnt = new int[n];
        for (int s = 0; s < n; s++) {
            int qStart = table[3 * n + s];
            cnt[s] = table[4 * n + s];
            for (int i = 0; i < cnt[s]; i++) {
                list[qStart + i] = firstPosition(s) + i;
            }
        }
        return new int[][] {list, cnt};
    }

    /** The table on the device (int [5*n]) with its host description; close() frees the buffer. */
    public record OnDevice(SegmentTable host, DeviceBuffer buffer) implements AutoCloseable {
        @Override
        public void close() {
            buffer.close();
        }
    }

    /** Copies the table to the device. */
    public OnDevice upload(CudaDevice dev) {
        return new OnDevice(this, DeviceBuffer.of(dev, table, "segments"));
    }
}
