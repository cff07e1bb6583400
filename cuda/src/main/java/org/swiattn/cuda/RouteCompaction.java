package org.swiattn.cuda;

import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.spec.Route;

/**
 * Route compaction: the hard route z [B,S] becomes, per batch, the sorted list of full-routed positions and the
 * sorted list of window-routed positions (as the authors' kernel does), so each branch's kernel visits only its
 * own queries. The GPU version ({@link #onDevice}) is kernel {@code swi_route_compact} of
 * {@code route_compact.cu}; {@link #onHost} is the same function in Java, used by the tests to check it.
 *
 * <pre>{@code
 *   listF [B,S]  listF[b*S + n], n < nF[b]: the positions i with z = 1, ascending
 *   listW [B,S]  listW[b*S + n], n < nW[b]: the positions i with z = 0, ascending   (nF[b] + nW[b] = S)
 * }</pre>
 */
public final class RouteCompaction {
    /** Name of the kernel file (fatbin) holding the compaction kernels. */
    public static final String MODULE = "route_compact";

    private RouteCompaction() {
    }

    /** The compacted route on the host: lists [B,S] (entries past the counts are -1) and counts [B]. */
    public record HostLists(int[] listF, int[] nF, int[] listW, int[] nW) {
    }

    /**
     * Compaction in Java (same result as the kernel).
     *
     * @param route not modified
     */
    public static HostLists onHost(Route route) {
        int bs = route.batch();
        int s = route.seqLen();
        int[] listF = new int[bs * s];
        int[] listW = new int[bs * s];
        java.util.Arrays.fill(listF, -1);
        java.util.Arrays.fill(listW, -1);
        int[] nF = new int[bs];
        int[] nW = new int[bs];
        // pass 1: per batch, scan positions in order and append to the list of their branch
        for (int b = 0; b < bs; b++) {
            for (int i = 0; i < s; i++) {
                if (route.isFull(b, i)) {
                    listF[b * s + nF[b]++] = i;
                } else {
                    listW[b * s + nW[b]++] = i;
                }
            }
        }
        return new HostLists(listF, nF, listW, nW);
    }

    /** The route's hard mask as bytes [B,S] (1 = full), the device input of {@link #onDevice}. */
    public static byte[] maskBytes(Route route) {
        byte[] z = new byte[route.batch() * route.seqLen()];
        for (int r = 0; r < z.length; r++) {
            z[r] = (byte) (route.isFull(r) ? 1 : 0);
        }
        return z;
    }

    /**
     * Device-resident compacted route, the one list format of every kernel: listF, listW [B,S] int, nF, nW [B] int.
     * A null count switches that branch off. close() frees the buffers; a view ({@link #fullOnly()},
     * {@link #windowOnly()}) shares them and is not closed.
     */
    public record DeviceLists(DeviceBuffer listF, DeviceBuffer nF, DeviceBuffer listW, DeviceBuffer nW)
            implements AutoCloseable {
        /** A view with the window branch switched off. */
        public DeviceLists fullOnly() {
            return new DeviceLists(listF, nF, null, null);
        }

        /** A view with the full branch switched off. */
        public DeviceLists windowOnly() {
            return new DeviceLists(null, null, listW, nW);
        }

        @Override
        public void close() {
            for (DeviceBuffer x : new DeviceBuffer[] {listF, nF, listW, nW}) {
                if (x != null) {
                    x.close();
                }
            }
        }
    }

    /**
     * Compacts a device-resident route on the GPU (kernel {@code swi_route_compact}, one block per batch).
     *
     * @param z [B,S] uint8 route, 1 = full; not modified
     */
    public static DeviceLists onDevice(CudaDevice dev, DeviceBuffer z, int batch, int seqLen) {
        long n = (long) batch * seqLen;
        DeviceBuffer listF = DeviceBuffer.allocate(dev, 4 * n, "route.listF");
        DeviceBuffer listW = DeviceBuffer.allocate(dev, 4 * n, "route.listW");
        DeviceBuffer nF = DeviceBuffer.allocate(dev, 4L * batch, "route.nF");
        DeviceBuffer nW = DeviceBuffer.allocate(dev, 4L * batch, "route.nW");
        DeviceLists lists = new DeviceLists(listF, nF, listW, nW);
        compactInto(dev, z, lists, batch, seqLen);
        return lists;
    }

    /**
     * Compacts into existing list buffers (no allocation: for timed loops).
     *
     * @param z     [B,S] uint8 route; not modified
     * @param lists buffers of {@link #onDevice}'s sizes; modified
     */
    public static void compactInto(CudaDevice dev, DeviceBuffer z, DeviceLists lists, int batch, int seqLen) {
        dev.module(MODULE).kernel("swi_route_compact").launch(new int[] {batch, 1, 1}, 1024, 0,
                z, lists.listF(), lists.nF(), lists.listW(), lists.nW(), seqLen);
    }

    /**
     * Compacts a device-resident route over a segment table on the GPU (kernel {@code swi_route_compact_seg}, one
     * block per segment): the lists hold each segment's own positions at its list offset ({@link SegmentTable}).
     *
     * @param z   [B*Sq] uint8 route over the flat query rows, 1 = full; not modified
     * @param seg the table on the device; not modified
     */
    public static DeviceLists onDevice(CudaDevice dev, DeviceBuffer z, SegmentTable.OnDevice seg, int queryRows) {
        int n = seg.host().count();
        DeviceBuffer listF = DeviceBuffer.allocate(dev, 4L * queryRows, "route.listF");
        DeviceBuffer listW = DeviceBuffer.allocate(dev, 4L * queryRows, "route.listW");
        DeviceBuffer nF = DeviceBuffer.allocate(dev, 4L * n, "route.nF");
        DeviceBuffer nW = DeviceBuffer.allocate(dev, 4L * n, "route.nW");
        DeviceLists lists = new DeviceLists(listF, nF, listW, nW);
        compactInto(dev, z, lists, seg);
        return lists;
    }

    /**
     * Compacts over a segment table into existing list buffers (no allocation: for timed loops).
     *
     * @param z     [B*Sq] uint8 route; not modified
     * @param lists buffers of the segment {@code onDevice}'s sizes; modified
     */
    public static void compactInto(CudaDevice dev, DeviceBuffer z, DeviceLists lists, SegmentTable.OnDevice seg) {
        int n = seg.host().count();
        dev.module(MODULE).kernel("swi_route_compact_seg").launch(new int[] {n, 1, 1}, 1024, 0,
                z, lists.listF(), lists.nF(), lists.listW(), lists.nW(), seg.buffer(), n);
    }

    /** The SOFT estimator's identity lists over a segment table ({@link SegmentTable#identityLists}), uploaded. */
    public static DeviceLists identity(CudaDevice dev, SegmentTable table) {
        int[][] id = table.identityLists();
        DeviceBuffer list = DeviceBuffer.of(dev, id[0], "route.identity");
        DeviceBuffer cnt = DeviceBuffer.of(dev, id[1], "route.identityCount");
        return new DeviceLists(list, cnt, list, cnt);
    }

    /**
     * The identity list of the SOFT estimator (every position on a branch): list[b*S + i] = i, n[b] = S. The F and
     * W fields are the same two buffers (closing twice is harmless).
     */
    public static DeviceLists identity(CudaDevice dev, int batch, int seqLen) {
        long n = (long) batch * seqLen;
        DeviceBuffer list = DeviceBuffer.allocate(dev, 4 * n, "route.identity");
        DeviceBuffer cnt = DeviceBuffer.allocate(dev, 4L * batch, "route.identityCount");
        dev.module(MODULE).kernel("swi_identity_lists").launch1d((n + 255) / 256, 256, 0, list, cnt, batch, seqLen);
        return new DeviceLists(list, cnt, list, cnt);
    }
}
