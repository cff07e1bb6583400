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
 * <pre>
 *   q, o, dO, dQ [B,S,Hq,D]    k, v, dK, dV [B,S,Hkv,D]    lse, delta [B,S,Hq]    coef, factor, dA [B,S]
 *   listF, listW [B,S] int, nF, nW [B] int (RouteCompaction); a null count buffer switches that branch off
 * </pre>
 */
public final class RoutedKernels {
    private final CudaDevice dev;
    private final Precision precision;
    private final KernelPlan.Version forwardVersion;
    private final KernelPlan.Version backwardVersion;
    private final String sfx;

    /**
     * @param forwardVersion  forced forward version, or null for the default plan
     * @param backwardVersion forced backward version, or null for the default plan
     */
    public RoutedKernels(CudaDevice dev, Precision precision, KernelPlan.Version forwardVersion,
                         KernelPlan.Version backwardVersion) {
        this.dev = dev;
        this.precision = precision;
        this.forwardVersion = forwardVersion;
        this.backwardVersion = backwardVersion;
        this.sfx = KernelPlan.suffix(precision);
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
     * with the window branch).
     */
    public void forward(Shape sh, int window, double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                        DeviceBuffer o, DeviceBuffer lse, DeviceBuffer listF, DeviceBuffer nF, DeviceBuffer listW,
                        DeviceBuffer nW) {
        KernelPlan.checkShape(sh);
        KernelPlan.Choice c = forwardChoice(sh.headDim());
        kernel(c).launch(KernelPlan.queryGrid(c, sh), KernelPlan.threads(c),
                KernelPlan.sharedBytes(c, precision, sh.headDim(), 2),
                q, k, v, o, lse, listF, nF, listW, nW, sh.batch(), sh.seqLen(), sh.qHeads(), sh.kvHeads(),
                sh.headDim(), Visibility.effectiveWindow(window, sh.seqLen()), real(scale));
    }

    /**
     * delta[r,h] = coef[r] * &lt;dO[r,h,:], x[r,h,:]&gt; (coef null = 1), summed in the order in which the chosen
     * backward kernels sum dp = &lt;dO, v&gt; (v2: sequential over d; v1: lane-strided), so that dp - delta cancels
     * exactly where o = v (attention on a single key).
     */
    public void delta(Shape sh, DeviceBuffer dO, DeviceBuffer x, DeviceBuffer coef, DeviceBuffer delta) {
        long rh = (long) sh.rows() * sh.qHeads();
        boolean v2 = backwardChoice(sh.headDim())[0].version() == KernelPlan.Version.V2;
        Kernel k = dev.module(KernelPlan.UTIL_MODULE).kernel((v2 ? "swi_delta_seq_" : "swi_delta_") + sfx);
        k.launch1d(v2 ? (rh + 255) / 256 : (rh + 7) / 8, 256, 0, dO, x, coef, delta, sh.rows(), sh.qHeads(),
                sh.headDim());
    }

    /** dA[r] = factor[r] * sum_{h,d} dO (x - y)  (y null = 0). */
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

    /** dK, dV (overwritten) from both branches' lists; per-branch lse, delta, coef (null coef = 1). */
    public void dKdV(Shape sh, int window, double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                     DeviceBuffer dO, DeviceBuffer listF, DeviceBuffer nF, DeviceBuffer listW, DeviceBuffer nW,
                     DeviceBuffer lseF, DeviceBuffer lseW, DeviceBuffer deltaF, DeviceBuffer deltaW,
                     DeviceBuffer coefF, DeviceBuffer coefW, DeviceBuffer dK, DeviceBuffer dV) {
        KernelPlan.checkShape(sh);
        KernelPlan.Choice c = backwardChoice(sh.headDim())[0];
        kernel(c).launch(KernelPlan.keyGrid(c, sh), KernelPlan.threads(c),
                KernelPlan.sharedBytes(c, precision, sh.headDim(), 4),
                q, k, v, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, sh.batch(),
                sh.seqLen(), sh.qHeads(), sh.kvHeads(), sh.headDim(), Visibility.effectiveWindow(window, sh.seqLen()), real(scale), dK, dV);
    }

    /** dQ over the lists' rows: written, or added to when accumulate. */
    public void dQ(Shape sh, int window, double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                   DeviceBuffer dO, DeviceBuffer listF, DeviceBuffer nF, DeviceBuffer listW, DeviceBuffer nW,
                   DeviceBuffer lseF, DeviceBuffer lseW, DeviceBuffer deltaF, DeviceBuffer deltaW,
                   DeviceBuffer coefF, DeviceBuffer coefW, DeviceBuffer dQ, boolean accumulate) {
        KernelPlan.checkShape(sh);
        KernelPlan.Choice c = backwardChoice(sh.headDim())[1];
        kernel(c).launch(KernelPlan.queryGrid(c, sh), KernelPlan.threads(c),
                KernelPlan.sharedBytes(c, precision, sh.headDim(), 3),
                q, k, v, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, sh.batch(),
                sh.seqLen(), sh.qHeads(), sh.kvHeads(), sh.headDim(), Visibility.effectiveWindow(window, sh.seqLen()), real(scale), dQ,
                accumulate ? 1 : 0);
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
