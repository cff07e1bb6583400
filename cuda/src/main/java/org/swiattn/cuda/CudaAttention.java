package org.swiattn.cuda;

import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.CudaException;
import org.swiattn.cuda.driver.CudaOutOfMemoryException;
import org.swiattn.cuda.driver.CudaUnavailableException;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;
import org.swiattn.spec.SwitchAttention;

/**
 * Routed (Switch) attention on an NVIDIA GPU, in fp64 or fp32, implementing the spec's {@link SwitchAttention}.
 * Each call uploads the inputs, runs the kernels and downloads the results; every device buffer of a call is
 * released when the call returns (try-with-resources), also on error. CUDA errors raise {@link CudaException}
 * naming the call; a shape too large for the device raises {@link CudaOutOfMemoryException}.
 *
 * <pre>{@code
 *   forward   route compaction on the GPU (sorted full / window query lists), then one tiled launch over both
 *             lists: each branch visits only the key tiles its queries can see.
 *             SOFT: both branches for every token (identity lists), then o = p oF + (1-p) oW.
 *   backward  forward recomputed, delta = <dOB, oB>, dK/dV per key tile, dQ per query tile (deterministic:
 *             no atomics), router-logit gradient per row:
 *               HARD 0;  STRAIGHT_THROUGH, SOFT p(1-p) sum_h <dO, oF - oW>;  SELECTED_BRANCH (z-p) sum_h <dO, oZ>
 *   decode    (spec 2.0: Sq = 1 against a KV cache, DecodePlan.isDecode) forward only: split-KV over planned
 *             pieces of each row's visible keys, merged by LSE (CudaDecode); other segment tables are refused
 * }</pre>
 */
public final class CudaAttention implements SwitchAttention, AutoCloseable {
    private final Precision precision;
    private final RoutedKernels kernels;
    private final CudaDevice dev;
    private final String name;
    private boolean closed;

    private CudaAttention(Precision precision, KernelPlan.Version fwd, KernelPlan.Version bwd) {
        KernelPlan.suffix(precision);  // rejects BF16 before touching the GPU
        this.precision = precision;
        this.dev = CudaDevice.get();
        for (String m : new String[] {KernelPlan.FORWARD_MODULE, KernelPlan.BACKWARD_MODULE,
            KernelPlan.BACKWARD_TC_MODULE, KernelPlan.UTIL_MODULE, RouteCompaction.MODULE}) {
            dev.module(m);  // fails early, naming the missing fatbin, when built without nvcc
        }
        this.kernels = new RoutedKernels(dev, precision, fwd, bwd);
        this.name = "cuda-" + KernelPlan.suffix(precision)
                + (fwd != null || bwd != null ? "-fwd" + (fwd == null ? "default" : fwd) + "-bwd"
                + (bwd == null ? "default" : bwd) : "");
    }

    /**
     * CUDA attention in FP64 or FP32 on device 0, with the default kernel plan.
     *
     * @throws InvalidInputException    for BF16 (see org.swiattn.cuda.bf16)
     * @throws CudaUnavailableException without driver, device or packaged kernels
     */
    public static CudaAttention create(Precision precision) {
        return new CudaAttention(precision, null, null);
    }

    /** CUDA attention with forced kernel versions (null = default), for the equivalence tests and benchmarks. */
    public static CudaAttention create(Precision precision, KernelPlan.Version forward, KernelPlan.Version backward) {
        return new CudaAttention(precision, forward, backward);
    }

    /** Checks a precision without a GPU: FP64 and FP32 are accepted, BF16 rejected naming the argument. */
    public static void checkPrecision(Precision precision) {
        KernelPlan.suffix(precision);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Precision precision() {
        return precision;
    }

    /** The kernel launcher of this instance (device-resident use). */
    public RoutedKernels kernels() {
        return kernels;
    }

    private void live() {
        if (closed) {
            throw new IllegalStateException(name + " is closed");
        }
        dev.makeCurrent();
    }

    /** Per-row coefficients [B,S] in this precision: f(r) for each row. */
    private DeviceBuffer rowValues(Route route, java.util.function.IntToDoubleFunction f, String label) {
        double[] x = new double[route.batch() * route.seqLen()];
        for (int r = 0; r < x.length; r++) {
            x[r] = f.applyAsDouble(r);
        }
        return kernels.upload(x, label);
    }

    private static double p(Route route, int r) {
        return Sigmoid.of(route.logit(r));
    }

    private static double pc(Route route, int r) {
        return Sigmoid.complement(route.logit(r));
    }

    /**
     * Forward pass. O [B,S,Hq,D], LSE [B,S,Hq] (LSE of the hard route's branch for every estimator).
     *
     * @param in validated inputs; not modified
     */
    @Override
    public ForwardResult forward(AttentionInputs in) {
        live();
        if (!in.segments().isSelfAttention()) {
            if (!DecodePlan.isDecode(in)) {
                throw CudaDecode.unsupported(name(), in);
            }
            return CudaDecode.forward(dev, precision, DecodeKernels.Version.SIMT, in, in.shape().headDim());
        }
        Shape sh = in.shape();
        KernelPlan.checkShape(sh);
        Route route = in.route();
        boolean f32 = kernels.floats();
        try (DeviceBuffer q = kernels.upload(in.q(), "q");
             DeviceBuffer k = kernels.upload(in.k(), "k");
             DeviceBuffer v = kernels.upload(in.v(), "v");
             DeviceBuffer z = DeviceBuffer.of(dev, RouteCompaction.maskBytes(route), "route");
             DeviceBuffer o = kernels.allocate(sh.qSize(), "o");
             DeviceBuffer lse = kernels.allocate(sh.lseSize(), "lse")) {
            if (in.estimator() != Estimator.SOFT) {
                // o = oZ: each token's selected branch only
                try (RouteCompaction.DeviceLists lists = RouteCompaction.onDevice(dev, z, sh.batch(), sh.seqLen())) {
                    kernels.forward(sh, in.window(), in.scale(), q, k, v, o, lse, lists);
                }
            } else {
                // o = p oF + (1-p) oW: both branches for every token
                try (RouteCompaction.DeviceLists all = RouteCompaction.identity(dev, sh.batch(), sh.seqLen());
                     DeviceBuffer oF = kernels.allocate(sh.qSize(), "oF");
                     DeviceBuffer oW = kernels.allocate(sh.qSize(), "oW");
                     DeviceBuffer lseF = kernels.allocate(sh.lseSize(), "lseF");
                     DeviceBuffer lseW = kernels.allocate(sh.lseSize(), "lseW");
                     DeviceBuffer pF = rowValues(route, r -> p(route, r), "pF");
                     DeviceBuffer pW = rowValues(route, r -> pc(route, r), "pW")) {
                    kernels.forward(sh, in.window(), in.scale(), q, k, v, oF, lseF, all.fullOnly());
                    kernels.forward(sh, in.window(), in.scale(), q, k, v, oW, lseW, all.windowOnly());
                    kernels.softCombine(sh, oF, oW, pF, pW, lseF, lseW, z, o, lse);
                    dev.synchronize();
                }
            }
            dev.synchronize();
            return new ForwardResult(sh, o.readAll(sh.qSize(), f32), lse.readAll(sh.lseSize(), f32));
        }
    }

    /**
     * Backward pass for the inputs' estimator: dQ, dK, dV, dL/da. Deterministic: the same inputs give
     * bit-identical outputs.
     *
     * @param in   validated inputs; not modified
     * @param dOut dL/dO [B,S,Hq,D]; not modified
     */
    @Override
    public BackwardResult backward(AttentionInputs in, double[] dOut) {
        live();
        in.requireSelfAttention(name() + " (backward)");
        in.checkOutputGradient(dOut);
        Shape sh = in.shape();
        KernelPlan.checkShape(sh);
        Route route = in.route();
        Estimator est = in.estimator();
        boolean f32 = kernels.floats();
        int w = in.window();
        double sc = in.scale();
        try (DeviceBuffer q = kernels.upload(in.q(), "q");
             DeviceBuffer k = kernels.upload(in.k(), "k");
             DeviceBuffer v = kernels.upload(in.v(), "v");
             DeviceBuffer dO = kernels.upload(dOut, "dOut");
             DeviceBuffer z = DeviceBuffer.of(dev, RouteCompaction.maskBytes(route), "route");
             DeviceBuffer dQ = kernels.allocate(sh.qSize(), "dQ");
             DeviceBuffer dK = kernels.allocate(sh.kvSize(), "dK");
             DeviceBuffer dV = kernels.allocate(sh.kvSize(), "dV");
             DeviceBuffer dA = kernels.allocate(sh.rows(), "dRouterLogit")) {
            double[] dRouter;
            if (est != Estimator.SOFT) {
                // gradient through the selected branch only: one pass over the routed lists
                try (RouteCompaction.DeviceLists lists = RouteCompaction.onDevice(dev, z, sh.batch(), sh.seqLen());
                     DeviceBuffer o = kernels.allocate(sh.qSize(), "o");
                     DeviceBuffer lse = kernels.allocate(sh.lseSize(), "lse");
                     DeviceBuffer delta = kernels.allocate(sh.lseSize(), "delta")) {
                    kernels.forward(sh, w, sc, q, k, v, o, lse, lists);
                    kernels.delta(sh, dO, o, null, delta);
                    BackwardOperands ops = BackwardOperands.routed(q, k, v, dO, lists, lse, delta);
                    kernels.dKdV(sh, w, sc, ops, dK, dV);
                    kernels.dQ(sh, w, sc, ops, dQ, false);
                    if (est == Estimator.SELECTED_BRANCH) {
                        try (DeviceBuffer factor = rowValues(route, r -> route.isFull(r) ? pc(route, r)
                                : -p(route, r), "factor")) {
                            kernels.routerGrad(sh, dO, o, null, factor, dA);
                            dev.synchronize();
                        }
                    } else if (est == Estimator.STRAIGHT_THROUGH) {
                        routerGradBothBranches(in, q, k, v, dO, dA);
                    }
                    dev.synchronize();
                }
                dRouter = est == Estimator.HARD ? new double[sh.rows()] : dA.readAll(sh.rows(), f32);
            } else {
                // SOFT: both branches for every token, weighted p and 1-p
                try (RouteCompaction.DeviceLists all = RouteCompaction.identity(dev, sh.batch(), sh.seqLen());
                     DeviceBuffer oF = kernels.allocate(sh.qSize(), "oF");
                     DeviceBuffer oW = kernels.allocate(sh.qSize(), "oW");
                     DeviceBuffer lseF = kernels.allocate(sh.lseSize(), "lseF");
                     DeviceBuffer lseW = kernels.allocate(sh.lseSize(), "lseW");
                     DeviceBuffer deltaF = kernels.allocate(sh.lseSize(), "deltaF");
                     DeviceBuffer deltaW = kernels.allocate(sh.lseSize(), "deltaW");
                     DeviceBuffer pF = rowValues(route, r -> p(route, r), "pF");
                     DeviceBuffer pW = rowValues(route, r -> pc(route, r), "pW");
                     DeviceBuffer factor = rowValues(route, r -> p(route, r) * pc(route, r), "factor")) {
                    kernels.forward(sh, w, sc, q, k, v, oF, lseF, all.fullOnly());
                    kernels.forward(sh, w, sc, q, k, v, oW, lseW, all.windowOnly());
                    kernels.delta(sh, dO, oF, pF, deltaF);
                    kernels.delta(sh, dO, oW, pW, deltaW);
                    BackwardOperands ops = new BackwardOperands(q, k, v, dO, all,
                            new BackwardOperands.Branch(lseF, deltaF, pF), new BackwardOperands.Branch(lseW, deltaW, pW));
                    kernels.dKdV(sh, w, sc, ops, dK, dV);
                    kernels.dQ(sh, w, sc, ops.withLists(all.fullOnly()), dQ, false);
                    kernels.dQ(sh, w, sc, ops.withLists(all.windowOnly()), dQ, true);
                    kernels.routerGrad(sh, dO, oF, oW, factor, dA);
                    dev.synchronize();
                }
                dRouter = dA.readAll(sh.rows(), f32);
            }
            dev.synchronize();
            return new BackwardResult(sh, dQ.readAll(sh.qSize(), f32), dK.readAll(sh.kvSize(), f32),
                    dV.readAll(sh.kvSize(), f32), dRouter);
        }
    }

    /** STRAIGHT_THROUGH router gradient: both branch outputs for every token, {@code p(1-p) sum_h <dO, oF - oW>}. */
    private void routerGradBothBranches(AttentionInputs in, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                                        DeviceBuffer dO, DeviceBuffer dA) {
        Shape sh = in.shape();
        Route route = in.route();
        try (RouteCompaction.DeviceLists all = RouteCompaction.identity(dev, sh.batch(), sh.seqLen());
             DeviceBuffer oF = kernels.allocate(sh.qSize(), "oF");
             DeviceBuffer oW = kernels.allocate(sh.qSize(), "oW");
             DeviceBuffer lseF = kernels.allocate(sh.lseSize(), "lseF");
             DeviceBuffer lseW = kernels.allocate(sh.lseSize(), "lseW");
             DeviceBuffer factor = rowValues(route, r -> p(route, r) * pc(route, r), "factor")) {
            kernels.forward(sh, in.window(), in.scale(), q, k, v, oF, lseF, all.fullOnly());
            kernels.forward(sh, in.window(), in.scale(), q, k, v, oW, lseW, all.windowOnly());
            kernels.routerGrad(sh, dO, oF, oW, factor, dA);
            dev.synchronize();
        }
    }

    /** Marks this instance closed (device buffers are per call; the device's primary context stays). */
    @Override
    public void close() {
        closed = true;
    }
}
