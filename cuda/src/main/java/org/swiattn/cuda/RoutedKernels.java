package org.swiattn.cuda;

import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.cuda.driver.Kernel;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * The launches of routed attention on device-resident tensors, for one precision and chosen kernel versions.
 * {@link CudaAttention} builds on it; the benchmark uses it directly (inputs generated on the GPU). Launches are
 * asynchronous: call {@link CudaDevice#synchronize()} before reading results.
 *
 * <p>Tensor arguments are {@link DeviceBuffer}s in this precision (doubles for FP64, floats for FP32), row-major:
 * <pre>{@code
 *   q, o, dO, dQ [B,S,Hq,D]    k, v, dK, dV [B,S,Hkv,D]    lse, delta [B,S,Hq]    coef, factor, dA [B,S]
 *   lists: RouteCompaction.DeviceLists (listF, listW [B,S], nF, nW [B]); a null count switches that branch off
 *   segment tables (spec 2.0, the overloads taking a SegmentTable.OnDevice): q, o, dO, dQ [B*Sq,Hq,D] and
 *     k, v, dK, dV [B*Sk,Hkv,D] flat, lists [B*Sq] and counts [n] per segment (SegmentTable)
 *   backward operands: BackwardOperands (q, k, v, dO, lists, per-branch lse, delta, coef)
 * }</pre>
 */
public final class RoutedKernels {
    private final CudaDevice dev;
    private final Precision precision;
    private final KernelPlan.Version forwardVersion;
    private final KernelPlan.Version backwardVersion;
    private final int backwardStreams;
    private final String sfx;

    /**
     * Streams of the backward's gradient launches by default: 2, dQ beside dK/dV ({@link #gradients}); measured
     * faster than 1 at every point timed (H200, S = 4096, D = 128: fp64 -0.5% full causal, -4.3% rho 0.25; fp32
     * -11.5% / -6.2%; bench/results/2026-12-02-backward-streams.md).
     */
    public static final int DEFAULT_BACKWARD_STREAMS = 2;

    /**
     * @param forwardVersion  forced forward version, or null for the default plan
     * @param backwardVersion forced backward version, or null for the default plan
     */
    public RoutedKernels(CudaDevice dev, Precision precision, KernelPlan.Version forwardVersion,
                         KernelPlan.Version backwardVersion) {
        this(dev, precision, forwardVersion, backwardVersion, DEFAULT_BACKWARD_STREAMS);
    }

    private RoutedKernels(CudaDevice dev, Precision precision, KernelPlan.Version forwardVersion,
                          KernelPlan.Version backwardVersion, int backwardStreams) {
        CudaDevice.checkStreams(backwardStreams);
        this.dev = dev;
        this.precision = precision;
        this.forwardVersion = forwardVersion;
        this.backwardVersion = backwardVersion;
        this.backwardStreams = backwardStreams;
        this.sfx = KernelPlan.suffix(precision);
    }

    /** The same kernels with the gradient launches on 1 or 2 streams ({@link #gradients}). */
    public RoutedKernels withBackwardStreams(int streams) {
        return new RoutedKernels(dev, precision, forwardVersion, backwardVersion, streams);
    }

    public int backwardStreams() {
        return backwardStreams;
    }

    /**
     * The gradient launches of one backward: the dK/dV launches and the dQ launches read the same operands and
     * write different tensors, so they are independent. On 1 stream they run one after the other; on 2 the dQ
     * launches go beside the dK/dV ones ({@link CudaDevice#concurrently}), so the blocks of one kernel can fill the
     * other's last wave. The values are the same either way (each output element is written by one thread).
     */
    public void gradients(Runnable dKdV, Runnable dQ) {
        dev.onStreams(backwardStreams, dKdV, dQ);
    }

    public Precision precision() {
        return precision;
    }

    /** Whether tensors are floats (FP32) rather than doubles. */
    public boolean floats() {
        return precision == Precision.FP32;
    }

    /** Bytes per element. */
    public int elementBytes() {
        return KernelPlan.elementBytes(precision);
    }

    /** The scale as the kernels' T. */
    private Object real(double x) {
        return floats() ? (Object) (float) x : (Object) x;
    }

    private Kernel kernel(KernelPlan.Choice c) {
        return dev.module(c.module()).kernel(c.name());
    }

    /** The forward kernel this object launches for head dimension d. */
    public KernelPlan.Choice forwardChoice(int d) {
        return KernelPlan.forward(precision, d, forwardVersion);
    }

    /** Blocks of the forward kernel for head dimension d that one multiprocessor holds at once (occupancy). */
    public int forwardBlocksPerMultiprocessor(int d) {
        KernelPlan.Choice c = forwardChoice(d);
        return kernel(c).blocksPerMultiprocessor(KernelPlan.threads(c), KernelPlan.sharedBytes(c, precision, d, 2));
    }

    /** The backward kernels {dK/dV, dQ} this object launches for head dimension d. */
    public KernelPlan.Choice[] backwardChoice(int d) {
        return KernelPlan.backward(precision, d, backwardVersion);
    }

    // Every launch passes min(w, S) as the window (Visibility.effectiveWindow): the same visible sets, and the
    // kernels' index arithmetic (j + w) cannot overflow for huge windows such as Integer.MAX_VALUE.

    /**
     * Branch forward over the given lists: o, lse at the listed rows (full list with the full branch, window list
     * with the window branch). q, k, v, lists not modified; o, lse modified at the listed rows.
     */
    public void forward(Shape sh, int window, double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                        DeviceBuffer o, DeviceBuffer lse, RouteCompaction.DeviceLists lists) {
        forward(sh, window, scale, q, k, v, o, lse, lists, null);
    }

    /**
     * Branch forward over a segment table (kernel {@code <forward>_seg}; seg null: the self-attention kernel of the
     * overload above): lists from
     * {@link RouteCompaction#onDevice(CudaDevice, DeviceBuffer, SegmentTable.OnDevice, int)} or
     * {@link RouteCompaction#identity(CudaDevice, SegmentTable)}; q, o [B*Sq,Hq,D], k, v [B*Sk,Hkv,D] flat.
     * q, k, v, lists, seg not modified; o, lse modified at the listed rows.
     */
    public void forward(Shape sh, int window, double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                        DeviceBuffer o, DeviceBuffer lse, RouteCompaction.DeviceLists lists, SegmentTable.OnDevice seg) {
        Entries e = new Entries(sh, seg);
        KernelPlan.Choice c = e.variant(forwardChoice(sh.headDim()));
        kernel(c).launch(e.queryGrid(c), KernelPlan.threads(c), KernelPlan.sharedBytes(c, precision, sh.headDim(), 2),
                e.args(new Object[] {q, k, v, o, lse, lists.listF(), lists.nF(), lists.listW(), lists.nW()}, window,
                        real(scale)));
    }

    /**
     * The row dot products of the backward, summed in the order in which the chosen backward kernels sum
     * {@code dp = <dO, v>} (v2: sequential over d; v1: lane-strided), so that dp - delta cancels exactly where o = v
     * (attention on a single key); the tensor cores (v11) sum in their own order, and get the lane-strided one:
     * <pre>{@code
     *   delta[r,h] = coef[r] * <dO[r,h,:], x[r,h,:]>      (coef null = 1)
     * }</pre>
     */
    public void delta(Shape sh, DeviceBuffer dO, DeviceBuffer x, DeviceBuffer coef, DeviceBuffer delta) {
        long rh = (long) sh.rows() * sh.qHeads();
        boolean v2 = backwardChoice(sh.headDim())[0].version() == KernelPlan.Version.V2;
        Kernel k = dev.module(KernelPlan.UTIL_MODULE).kernel((v2 ? "swi_delta_seq_" : "swi_delta_") + sfx);
        k.launch1d(v2 ? (rh + 255) / 256 : (rh + 7) / 8, 256, 0, dO, x, coef, delta, sh.rows(), sh.qHeads(),
                sh.headDim());
    }

    /**
     * The router-logit gradient rows (y null = 0):
     * <pre>{@code
     *   dA[r] = factor[r] * sum_{h,d} dO[r,h,d] (x[r,h,d] - y[r,h,d])
     * }</pre>
     */
    public void routerGrad(Shape sh, DeviceBuffer dO, DeviceBuffer x, DeviceBuffer y, DeviceBuffer factor,
                           DeviceBuffer dA) {
        dev.module(KernelPlan.UTIL_MODULE).kernel("swi_router_grad_" + sfx).launch1d(sh.rows(), 256, 0,
                dO, x, y, factor, dA, sh.rows(), sh.qHeads() * sh.headDim());
    }

    /** SOFT forward mixing: o = pF oF + pW oW, lse = z ? lseF : lseW. */
    public void softCombine(Shape sh, DeviceBuffer oF, DeviceBuffer oW, DeviceBuffer pF, DeviceBuffer pW,
                            DeviceBuffer lseF, DeviceBuffer lseW, DeviceBuffer z, DeviceBuffer o, DeviceBuffer lse) {
        long n = (long) sh.qSize();
        dev.module(KernelPlan.UTIL_MODULE).kernel("swi_soft_combine_" + sfx).launch1d((n + 255) / 256, 256, 0,
                oF, oW, pF, pW, lseF, lseW, z, o, lse, sh.rows(), sh.qHeads(), sh.headDim());
    }

    /**
     * dK, dV (overwritten) from both branches' lists of the operands.
     *
     * @param ops not modified; dK [B,S,Hkv,D], dV [B,S,Hkv,D] modified
     */
    public void dKdV(Shape sh, int window, double scale, BackwardOperands ops, DeviceBuffer dK, DeviceBuffer dV) {
        dKdV(sh, window, scale, ops, dK, dV, null);
    }

    /**
     * dK, dV over a segment table (kernel {@code <dK/dV>_seg}; seg null: the overload above): the key rows inside a
     * segment are overwritten, the others are not written (zero them first).
     *
     * @param ops not modified; dK, dV [B*Sk,Hkv,D] modified
     */
    public void dKdV(Shape sh, int window, double scale, BackwardOperands ops, DeviceBuffer dK, DeviceBuffer dV,
                     SegmentTable.OnDevice seg) {
        backward(true, sh, window, scale, ops, seg, dK, dV);
    }

    /**
     * dQ over the rows of the operands' lists: written, or added to when accumulate.
     *
     * @param ops not modified; dQ [B,S,Hq,D] modified at the listed rows
     */
    public void dQ(Shape sh, int window, double scale, BackwardOperands ops, DeviceBuffer dQ, boolean accumulate) {
        dQ(sh, window, scale, ops, dQ, accumulate, null);
    }

    /**
     * dQ over the rows of the operands' lists and a segment table (kernel {@code <dQ>_seg}; seg null: the overload
     * above).
     *
     * @param ops not modified; dQ [B*Sq,Hq,D] modified at the listed rows
     */
    public void dQ(Shape sh, int window, double scale, BackwardOperands ops, DeviceBuffer dQ, boolean accumulate,
                   SegmentTable.OnDevice seg) {
        backward(false, sh, window, scale, ops, seg, dQ, accumulate ? 1 : 0);
    }

    /**
     * One backward launch: the dK/dV kernel over key tiles (keys) or the dQ kernel over list tiles, the operands'
     * arguments first and the outputs after the launch's dimensions. ops, seg not modified.
     */
    private void backward(boolean keys, Shape sh, int window, double scale, BackwardOperands ops,
                          SegmentTable.OnDevice seg, Object... outputs) {
        Entries e = new Entries(sh, seg);
        KernelPlan.Choice c = e.variant(backwardChoice(sh.headDim())[keys ? 0 : 1]);
        kernel(c).launch(keys ? e.keyGrid(c) : e.queryGrid(c), KernelPlan.threads(c),
                KernelPlan.sharedBytes(c, precision, sh.headDim(), keys ? 4 : 3),
                ops.kernelArgs(e.args(new Object[0], window, real(scale), outputs)));
    }

    /**
     * The "batch" entries of a launch: the B rows of self-attention (seg null: the plain kernels) or the segments of a
     * table (the {@code _seg} kernels, which take the table as their last argument). Checks the shape on creation.
     */
    private record Entries(Shape sh, SegmentTable.OnDevice seg) {
        Entries {
            if (seg == null) {
                KernelPlan.checkShape(sh);
            } else {
                KernelPlan.checkShape(sh, seg.host());
            }
        }

        /** The entries' count: B, or the table's segments. */
        int count() {
            return seg == null ? sh.batch() : seg.host().count();
        }

        /** Keys per entry: S, or the longest segment's. */
        int keys() {
            return seg == null ? sh.seqLen() : seg.host().maxKeys();
        }

        KernelPlan.Choice variant(KernelPlan.Choice c) {
            return seg == null ? c : KernelPlan.segments(c);
        }

        int[] queryGrid(KernelPlan.Choice c) {
            return seg == null ? KernelPlan.queryGrid(c, sh) : KernelPlan.queryGrid(c, seg.host(), sh);
        }

        int[] keyGrid(KernelPlan.Choice c) {
            return seg == null ? KernelPlan.keyGrid(c, sh) : KernelPlan.keyGrid(c, seg.host(), sh);
        }

        /**
         * A launch's arguments: head, the dimensions (entries, keys per entry, Hq, Hkv, D, min(w, keys), scale), tail,
         * then the table's buffer for the _seg kernels. head, tail not modified.
         */
        Object[] args(Object[] head, int window, Object scale, Object... tail) {
            java.util.List<Object> all = new java.util.ArrayList<>(java.util.Arrays.asList(head));
            all.addAll(java.util.List.of(count(), keys(), sh.qHeads(), sh.kvHeads(), sh.headDim(),
                    Visibility.effectiveWindow(window, keys()), scale));
            all.addAll(java.util.Arrays.asList(tail));
            if (seg != null) {
                all.add(seg.buffer());
            }
            return all.toArray();
        }
    }

    /** Fills a buffer of n elements with scale * N(0,1) from a hash of (seed, index): fresh data, never zeros. */
    public void fillNormal(DeviceBuffer x, long n, long seed, double scale) {
        dev.module(KernelPlan.UTIL_MODULE).kernel("swi_fill_normal_" + sfx).launch1d((n + 255) / 256, 256, 0,
                x, n, seed, scale);
    }

    /** Allocates n elements of this precision. */
    public DeviceBuffer allocate(long n, String label) {
        return DeviceBuffer.allocate(dev, n * elementBytes(), label);
    }

    /** Copies x to the device in this precision. */
    public DeviceBuffer upload(double[] x, String label) {
        return DeviceBuffer.of(dev, x, floats(), label);
    }

    public CudaDevice device() {
        return dev;
    }
}
