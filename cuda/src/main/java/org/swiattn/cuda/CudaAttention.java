package org.swiattn.cuda;

import java.util.List;

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
 *             pieces of each row's visible keys, merged by LSE (CudaDecode)
 *   segments  (spec 2.0: chunked prefill, a KV cache with per-sequence lengths, packed batches) forward and
 *             backward on the same tiled kernels, one entry per segment (SegmentTable, kernels <name>_seg);
 *             dK, dV of key rows outside every segment are 0
 * }</pre>
 */
public final class CudaAttention implements SwitchAttention, AutoCloseable {
    private final Precision precision;
    private final RoutedKernels kernels;
    private final CudaDevice dev;
    private final String name;
    private final KernelPlan.Version fwd, bwd;   // the forced versions (null: the plan's), for withBackwardStreams
    private boolean closed;

    private CudaAttention(Precision precision, KernelPlan.Version fwd, KernelPlan.Version bwd) {
        this(precision, fwd, bwd, RoutedKernels.DEFAULT_BACKWARD_STREAMS);
    }

    private CudaAttention(Precision precision, KernelPlan.Version fwd, KernelPlan.Version bwd, int backwardStreams) {
        KernelPlan.suffix(precision);  // rejects BF16 before touching the GPU
        this.precision = precision;
        this.dev = CudaDevice.get();
        for (String m : new String[] {KernelPlan.FORWARD_MODULE, KernelPlan.BACKWARD_MODULE,
            KernelPlan.BACKWARD_TC_MODULE, KernelPlan.UTIL_MODULE, RouteCompaction.MODULE}) {
            dev.module(m);  // fails early, naming the missing fatbin, when built without nvcc
        }
        this.kernels = new RoutedKernels(dev, precision, fwd, bwd).withBackwardStreams(backwardStreams);
        this.name = "cuda-" + KernelPlan.suffix(precision)
                + (fwd != null || bwd != null ? "-fwd" + (fwd == null ? "default" : fwd) + "-bwd"
                + (bwd == null ? "default" : bwd) : "")
                + (backwardStreams != RoutedKernels.DEFAULT_BACKWARD_STREAMS ? "-streams" + backwardStreams : "");
        this.fwd = fwd;
        this.bwd = bwd;
    }

    /**
     * The same kernels with the backward's dK/dV and dQ launches on 1 stream (in turn) or 2 (concurrently,
     * {@link RoutedKernels#gradients}); the values are the same. A new instance.
     */
    public CudaAttention withBackwardStreams(int streams) {
        return new CudaAttention(precision, fwd, bwd, streams);
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

    /** Every segment table, forward and backward (D <= 256: the tiled kernels). */
    @Override
    public boolean supportsSegments() {
        return true;
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
        if (!in.segments().isSelfAttention() && DecodePlan.isDecode(in)) {
            return CudaDecode.forward(dev, precision, DecodeKernels.Version.SIMT, in, in.shape().headDim());
        }
        Shape sh = in.shape();
        Route route = in.route();
        boolean f32 = kernels.floats();
        try (Launches run = new Launches(in);
             DeviceBuffer o = kernels.allocate(sh.qSize(), "o");
             DeviceBuffer lse = kernels.allocate(sh.lseSize(), "lse")) {
            DeviceBuffer q = run.q, k = run.k, v = run.v, z = run.z;
            if (in.estimator() != Estimator.SOFT) {
                // o = oZ: each token's selected branch only
                try (RouteCompaction.DeviceLists lists = run.compact(z)) {
                    run.forward(q, k, v, o, lse, lists);
                }
            } else {
                // o = p oF + (1-p) oW: both branches for every token
                try (BothBranches both = new BothBranches(run);
                     DeviceBuffer pF = rowValues(route, r -> route.probability(r), "pF");
                     DeviceBuffer pW = rowValues(route, r -> pc(route, r), "pW")) {
                    kernels.softCombine(sh, both.oF, both.oW, pF, pW, both.lseF, both.lseW, z, o, lse);
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
        in.checkOutputGradient(dOut);
        Shape sh = in.shape();
        Route route = in.route();
        Estimator est = in.estimator();
        boolean f32 = kernels.floats();
        try (Launches run = new Launches(in);
             DeviceBuffer dO = kernels.upload(dOut, "dOut");
             DeviceBuffer dQ = kernels.allocate(sh.qSize(), "dQ");
             DeviceBuffer dK = kernels.allocate(sh.kvSize(), "dK");
             DeviceBuffer dV = kernels.allocate(sh.kvSize(), "dV");
             DeviceBuffer dA = kernels.allocate(sh.rows(), "dRouterLogit")) {
            DeviceBuffer q = run.q, k = run.k, v = run.v, z = run.z;
            run.clearKeyGradients(dK, dV);
            double[] dRouter;
            if (est != Estimator.SOFT) {
                // gradient through the selected branch only: one pass over the routed lists
                try (RouteCompaction.DeviceLists lists = run.compact(z);
                     DeviceBuffer o = kernels.allocate(sh.qSize(), "o");
                     DeviceBuffer lse = kernels.allocate(sh.lseSize(), "lse");
                     DeviceBuffer delta = kernels.allocate(sh.lseSize(), "delta")) {
                    run.forward(q, k, v, o, lse, lists);
                    kernels.delta(sh, dO, o, null, delta);
                    BackwardOperands ops = BackwardOperands.routed(q, k, v, dO, lists, lse, delta);
                    kernels.gradients(() -> run.dKdV(ops, dK, dV), () -> run.dQ(ops, dQ, false));
                    if (est == Estimator.SELECTED_BRANCH) {
                        try (DeviceBuffer factor = rowValues(route, r -> route.isFull(r) ? pc(route, r)
                                : -route.probability(r), "factor")) {
                            kernels.routerGrad(sh, dO, o, null, factor, dA);
                            dev.synchronize();
                        }
                    } else if (est == Estimator.STRAIGHT_THROUGH) {
                        routerGradBothBranches(run, route, dO, dA);
                    }
                    dev.synchronize();
                }
                dRouter = est == Estimator.HARD ? new double[sh.rows()] : dA.readAll(sh.rows(), f32);
            } else {
                // SOFT: both branches for every token, weighted p and 1-p
                try (BothBranches both = new BothBranches(run);
                     DeviceBuffer deltaF = kernels.allocate(sh.lseSize(), "deltaF");
                     DeviceBuffer deltaW = kernels.allocate(sh.lseSize(), "deltaW");
                     DeviceBuffer pF = rowValues(route, r -> route.probability(r), "pF");
                     DeviceBuffer pW = rowValues(route, r -> pc(route, r), "pW");
                     DeviceBuffer factor = rowValues(route, r -> route.probability(r) * pc(route, r), "factor")) {
                    RouteCompaction.DeviceLists all = both.all;
                    kernels.delta(sh, dO, both.oF, pF, deltaF);
                    kernels.delta(sh, dO, both.oW, pW, deltaW);
                    BackwardOperands ops = new BackwardOperands(q, k, v, dO, all,
                            new BackwardOperands.Branch(both.lseF, deltaF, pF),
                            new BackwardOperands.Branch(both.lseW, deltaW, pW));
                    kernels.gradients(() -> run.dKdV(ops, dK, dV), () -> {
                        run.dQ(ops.withLists(all.fullOnly()), dQ, false);
                        run.dQ(ops.withLists(all.windowOnly()), dQ, true);
                    });
                    kernels.routerGrad(sh, dO, both.oF, both.oW, factor, dA);
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
    private void routerGradBothBranches(Launches run, Route route, DeviceBuffer dO, DeviceBuffer dA) {
        try (BothBranches both = new BothBranches(run);
             DeviceBuffer factor = rowValues(route, r -> route.probability(r) * pc(route, r), "factor")) {
            kernels.routerGrad(run.sh, dO, both.oF, both.oW, factor, dA);
            dev.synchronize();
        }
    }

    /**
     * The list-driven launches of one call: self-attention (spec 1.x) on the batch rows, any other segment table on
     * its segments ({@link SegmentTable}, kernels {@code <name>_seg}). close() frees the device table.
     */
    /**
     * Both branch outputs of a call for every token (the identity list on each branch): oF, lseF of the full branch,
     * oW, lseW of the window branch, computed on creation; freed with the lists on close.
     */
    private final class BothBranches implements AutoCloseable {
        final RouteCompaction.DeviceLists all;
        final DeviceBuffer oF, oW, lseF, lseW;

        BothBranches(Launches run) {
            Shape sh = run.sh;
            all = run.identity();
            DeviceBuffer[] b = DeviceBuffer.allocateAll(all::close, List.of(
                    () -> kernels.allocate(sh.qSize(), "oF"), () -> kernels.allocate(sh.qSize(), "oW"),
                    () -> kernels.allocate(sh.lseSize(), "lseF"), () -> kernels.allocate(sh.lseSize(), "lseW")));
            oF = b[0];
            oW = b[1];
            lseF = b[2];
            lseW = b[3];
            try {
                run.forward(run.q, run.k, run.v, oF, lseF, all.fullOnly());
                run.forward(run.q, run.k, run.v, oW, lseW, all.windowOnly());
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }

        @Override
        public void close() {
            DeviceBuffer.closeAll(oF, oW, lseF, lseW);
            all.close();
        }
    }

    private final class Launches implements AutoCloseable {
        final Shape sh;
        final int window;
        final double scale;
        final SegmentTable.OnDevice seg;  // null: self-attention
        final DeviceBuffer q, k, v, z;    // the inputs on the device; z: the route mask (RouteCompaction.maskBytes)

        Launches(AttentionInputs in) {
            sh = in.shape();
            window = in.window();
            scale = in.scale();
            if (in.segments().isSelfAttention()) {
                KernelPlan.checkShape(sh);
                seg = null;
            } else {
                SegmentTable t = SegmentTable.of(in.segments());
                KernelPlan.checkShape(sh, t);
                KernelPlan.segments(kernels.forwardChoice(sh.headDim()));  // refuses D > 256 before any upload
                seg = t.upload(dev);
            }
            DeviceBuffer[] up = DeviceBuffer.allocateAll(this::closeTable, List.of(
                    () -> kernels.upload(in.q(), "q"), () -> kernels.upload(in.k(), "k"),
                    () -> kernels.upload(in.v(), "v"),
                    () -> DeviceBuffer.of(dev, RouteCompaction.maskBytes(in.route()), "route")));
            q = up[0];
            k = up[1];
            v = up[2];
            z = up[3];
        }

        private void closeTable() {
            if (seg != null) {
                seg.close();
            }
        }

        /** The compacted hard route of a device mask [B*Sq]. */
        RouteCompaction.DeviceLists compact(DeviceBuffer z) {
            return seg == null ? RouteCompaction.onDevice(dev, z, sh.batch(), sh.seqLen())
                    : RouteCompaction.onDevice(dev, z, seg, sh.rows());
        }

        /** The SOFT estimator's identity lists. */
        RouteCompaction.DeviceLists identity() {
            return seg == null ? RouteCompaction.identity(dev, sh.batch(), sh.seqLen())
                    : RouteCompaction.identity(dev, seg.host());
        }

        void forward(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DeviceBuffer o, DeviceBuffer lse,
                     RouteCompaction.DeviceLists lists) {
            kernels.forward(sh, window, scale, q, k, v, o, lse, lists, seg);
        }

        /** Zeroes dK, dV where key rows may lie outside every segment (the _seg kernels write segment rows only). */
        void clearKeyGradients(DeviceBuffer dK, DeviceBuffer dV) {
            if (seg != null) {
                dK.fill((byte) 0);
                dV.fill((byte) 0);
            }
        }

        void dKdV(BackwardOperands ops, DeviceBuffer dK, DeviceBuffer dV) {
            kernels.dKdV(sh, window, scale, ops, dK, dV, seg);
        }

        void dQ(BackwardOperands ops, DeviceBuffer dQ, boolean accumulate) {
            kernels.dQ(sh, window, scale, ops, dQ, accumulate, seg);
        }

        @Override
        public void close() {
            DeviceBuffer.closeAll(q, k, v, z);
            closeTable();
        }
    }

    /** Marks this instance closed (device buffers are per call; the device's primary context stays). */
    @Override
    public void close() {
        closed = true;
    }
}
