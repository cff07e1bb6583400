package org.swiattn.cuda.bf16;

import java.util.List;
import java.util.function.IntToDoubleFunction;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.cuda.BackwardOperands;
import org.swiattn.cuda.CudaDecode;
import org.swiattn.cuda.DecodeKernels;
import org.swiattn.cuda.DecodePlan;
import org.swiattn.cuda.DeviceTensors;
import org.swiattn.cuda.KernelPlan;
import org.swiattn.cuda.RouteCompaction;
import org.swiattn.cuda.SegmentTable;
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
 * Routed (Switch) attention in bf16 on NVIDIA tensor cores: bf16 inputs, fp32 accumulation, bf16 output, fp32 LSE
 * (kernels in {@code src/main/cuda/bf16}, modules {@value Bf16Kernels#FORWARD_MODULE} and
 * {@value Bf16Kernels#BACKWARD_MODULE}).
 *
 * <pre>{@code
 *   inputs   q [B,S,Hq,D], k, v [B,S,Hkv,D] rounded to bf16 with Bf16.bits (golden inputs are already
 *            bf16-representable, so nothing changes for them)
 *   s_ij   = scale * <q_i, k_j>                      fp32 accumulation of bf16 products (tensor cores)
 *   lse_i  = ln sum_{j visible} exp(s_ij)            fp32, online (max-subtracted) softmax
 *   o_i    = bf16( sum_j bf16(exp(s_ij - m)) v_j / l ) fp32 accumulation, P rounded to bf16 for the product
 *   visible: keys 0..i (z_i = 1, full) or max(0, i-w+1)..i (z_i = 0, window)
 * }</pre>
 * The route is compacted on the GPU into the lists of every precision ({@link RouteCompaction}), and each block
 * takes a tile of consecutive list entries for one head (the tile schedule of {@code common.cuh}), so it visits
 * only the key tiles its queries see.
 * D in {64, 128} runs natively; other D up to 128 are zero-padded to the next of the two (padding changes no score
 * because the spec's scale is passed explicitly). Kernel versions ({@link Variant#kind()}): 1 (mma.sync m16n8k16,
 * any GPU of compute capability 8.0+) and 3 (Hopper wgmma, compute capability 9.0, reading V as a transposed wgmma
 * operand), both for self-attention and segment tables. (Version 2, wgmma reading a V^T copy, and the later
 * candidates beside version 3 - 128-key tiles, blocks of 3 or 4 warpgroups, the softmax overlapped with the previous
 * tile's P V, fewer instructions per tile - were no faster at the points measured, or at all but one, and live in
 * git history: {@code bench/results/2026-12-02-bf16-v3-pipe.md},
 * {@code bench/results/2026-12-02-bf16-forward-candidates.md}.)
 * Judged by the spec's low-precision rule ({@link org.swiattn.spec.Tolerance}, Precision.BF16).
 *
 * <p>Backward ({@link #backward}): dQ, dK, dV in bf16, dL/da in fp32, for every estimator, deterministic (no
 * atomics). Three kernel versions ({@link Bf16Kernels.BackwardVersion}): WGMMA (the default on compute capability
 * 9.0) and MMA (the default elsewhere): the five products S, dP, dV, dK, dQ on tensor cores (Hopper wgmma, or
 * mma.sync) with bf16 operands and fp32 accumulation, staged with cp.async double buffering; masks, exp, dS and
 * rounding on the CUDA cores; and SIMT (every product in fp32 on the CUDA cores: the fp32 tiled backward with bf16
 * storage). The forward pass,
 * {@code delta = c <dO, o>} and the router gradient are recomputed/computed on the GPU in fp32 from the bf16 tensors.
 */
public final class Bf16Attention implements SwitchAttention {
    /**
     * One compiled forward kernel.
     *
     * @param kernel     the extern "C" name
     * @param kind       1 = mma.sync version, 3 = wgmma version (sm_90a only)
     * @param headDim    D the kernel is specialised for (64 or 128)
     * @param blockM     queries per block (BM)
     * @param blockN     keys per key tile (BN)
     * @param threads    threads per block
     * @param stages     depth of the K/V shared-memory ring
     * @param blocksPerSm blocks one multiprocessor holds (the kernel's launch bound)
     */
    public record Variant(String kernel, int kind, int headDim, int blockM, int blockN, int threads, int stages,
                          int blocksPerSm) {
        /**
         * Dynamic shared memory per block, bytes (mirror of smem_bytes and wg_smem_bytes; a GPU test checks it
         * against the kernel's exported {@code _cfg}): positions, the Q tile and the K/V ring; version 3 adds 1024
         * bytes of alignment slack.
         */
        public int sharedBytes() {
            int kv = stages * 2 * blockN * headDim * 2;
            return kind == 1 ? blockM * 4 + blockM * headDim * 2 + kv : 1024 + blockM * headDim * 2 + kv + blockM * 4;
        }

        /** Whether the kernel runs on tensor cores of compute capability 9.0 only (wgmma). */
        public boolean hopperOnly() {
            return kind == 3;
        }

        /** The configuration the kernel exports as {@code <kernel>_cfg}: {BM, BN, threads, shared bytes}. */
        public int[] config() {
            return new int[] {blockM, blockN, threads, sharedBytes()};
        }

        private static Variant mma(int d, int bm, int mt, int st) {
            return new Variant("swi_fwd_mma_bf16_d" + d + "_m" + bm + "_t" + mt + "_s" + st, 1, d, bm, 64,
                    bm / (16 * mt) * 32, st, 2);
        }

        private static Variant wgmmaV(int d, int nwg, int st, int minb) {
            return new Variant("swi_fwd_wgmmav_bf16_d" + d + "_w" + nwg + "_s" + st + "_b" + minb, 3, d, 64 * nwg, 64,
                    128 * nwg, st, minb);
        }
    }

    /**
     * Every forward kernel of the module: the fastest measured configuration of each version and head dimension
     * (bench/results/2026-11-29-bf16-forward.md); version 1 runs on compute capability 8.0+, version 3 on 9.0.
     */
    public static final List<Variant> VARIANTS = List.of(
            Variant.mma(128, 64, 1, 3), Variant.mma(64, 128, 2, 2),
            Variant.wgmmaV(128, 2, 2, 2), Variant.wgmmaV(64, 2, 2, 2));

    private final CudaDevice device;
    private final Bf16Kernels kernels;
    private final Variant forD64;
    private final Variant forD128;
    private final Bf16Kernels.BackwardVersion backwardVersion;
    private final DecodeKernels.Version decodeVersion;

    private Bf16Attention(CudaDevice device, Variant forD64, Variant forD128,
                          Bf16Kernels.BackwardVersion backwardVersion, DecodeKernels.Version decodeVersion) {
        this(device, forD64, forD128, backwardVersion, decodeVersion, DEFAULT_BACKWARD_STREAMS);
    }

    private Bf16Attention(CudaDevice device, Variant forD64, Variant forD128,
                          Bf16Kernels.BackwardVersion backwardVersion, DecodeKernels.Version decodeVersion,
                          int backwardStreams) {
        CudaDevice.checkStreams(backwardStreams);
        this.device = device;
        this.kernels = new Bf16Kernels(device);
        this.forD64 = forD64;
        this.forD128 = forD128;
        this.backwardVersion = backwardVersion;
        this.decodeVersion = decodeVersion;
        this.backwardStreams = backwardStreams;
    }

    /**
     * Streams of the tensor-core backward's dK/dV and dQ launches by default: 2, concurrently (as the fp64/fp32
     * default, {@link org.swiattn.cuda.RoutedKernels#gradients}; 1: in turn, the same values). Measured on the H200
     * (S = 4096, Hq = 32, Hkv = 8, D = 128; bench/results/2026-12-02-bf16-v3-pipe.md): full causal 2.638 ms on two
     * streams vs 2.650 ms on one, rho = 0.25 1.713 vs 1.817 ms.
     */
    public static final int DEFAULT_BACKWARD_STREAMS = 2;

    private final int backwardStreams;

    /** The same kernels with the tensor-core backward's dK/dV and dQ launches on 1 or 2 streams (same values). */
    public Bf16Attention withBackwardStreams(int streams) {
        return new Bf16Attention(device, forD64, forD128, backwardVersion, decodeVersion, streams);
    }

    /** Streams of the tensor-core backward's gradient launches (1 or 2). */
    public int backwardStreams() {
        return backwardStreams;
    }

    /** dK/dV then dQ on this instance's streams: in turn, or concurrently ({@link CudaDevice#onStreams}). */
    private void gradients(Runnable dKdV, Runnable dQ) {
        device.onStreams(backwardStreams, dKdV, dQ);
    }

    /**
     * The default backward version of a device: wgmma on compute capability 9.0, mma.sync elsewhere. On the H200 (S =
     * 4096, Hq = 32, Hkv = 8, D = 128, bench/results/2026-12-02-bf16-wgmma-backward.md) wgmma took 1.483 ms against
     * mma2's 2.634 ms (full causal) and 0.995 against 1.714 ms (rho = 0.25), the same bits; with 32-bit staging
     * offsets 1.299 and 0.885 ms.
     */
    public static Bf16Kernels.BackwardVersion defaultBackward(CudaDevice device) {
        return Bf16Kernels.BackwardVersion.WGMMA.runsOn(device.computeCapability()) ? Bf16Kernels.BackwardVersion.WGMMA
                : Bf16Kernels.BackwardVersion.MMA;
    }

    /** The default decode version: tensor cores. */
    public static final DecodeKernels.Version DEFAULT_DECODE = DecodeKernels.Version.MMA;

    /** Rejects a backward version the device cannot run (WGMMA: compute capability 9.0 only). */
    public static void checkBackward(Bf16Kernels.BackwardVersion version, CudaDevice device) {
        int cc = device.computeCapability();
        if (!version.runsOn(cc)) {
            throw new InvalidInputException("backward", "version " + version
                    + " runs on compute capability 9.0 (sm_90a) only, this device has " + cc / 10 + "." + cc % 10);
        }
    }

    /** The same forward kernels with another backward version. */
    public Bf16Attention withBackward(Bf16Kernels.BackwardVersion version) {
        checkBackward(version, device);
        return new Bf16Attention(device, forD64, forD128, version, decodeVersion, backwardStreams);
    }

    /** The same kernels with another decode version (decode inputs: Sq = 1 against a KV cache). */
    public Bf16Attention withDecode(DecodeKernels.Version version) {
        return new Bf16Attention(device, forD64, forD128, backwardVersion, version, backwardStreams);
    }

    /** The decode version this instance runs. */
    public DecodeKernels.Version decodeVersion() {
        return decodeVersion;
    }

    /** The backward version this instance runs. */
    public Bf16Kernels.BackwardVersion backwardVersion() {
        return backwardVersion;
    }

    /** The kernel launcher of this instance (device-resident use). */
    public Bf16Kernels kernels() {
        return kernels;
    }

    /**
     * The fastest measured versions for this device: wgmma on compute capability 9.0 (H100/H200), mma.sync elsewhere
     * (bench/results/*bf16*).
     */
    public static Bf16Attention create() {
        return ofVersion(CudaDevice.get().computeCapability() == 90 ? 3 : 1);
    }

    /** An instance that runs the given kernel for every D (D padded to variant.headDim(); D must not exceed it). */
    public static Bf16Attention withVariant(Variant variant) {
        CudaDevice dev = CudaDevice.get();
        if (variant.hopperOnly() && dev.computeCapability() != 90) {
            throw new IllegalArgumentException("variant " + variant.kernel() + " needs compute capability 9.0, device "
                    + dev.name() + " has " + dev.computeCapability());
        }
        return new Bf16Attention(dev, variant.headDim() == 64 ? variant : null, variant, defaultBackward(dev),
                DEFAULT_DECODE);
    }

    /**
     * An instance on one forward version for both head dimensions (its D = 64 variant for D <= 64, its D = 128 one
     * above), self-attention and segment tables, with the default backward and decode.
     *
     * @param kind 1 (mma.sync) or 3 (wgmma, compute capability 9.0 only; {@link #forwardVersions})
     */
    public static Bf16Attention ofVersion(int kind) {
        Variant d64 = variantOf(kind, 64);
        withVariant(d64);   // the compute-capability check
        CudaDevice dev = CudaDevice.get();
        return new Bf16Attention(dev, d64, variantOf(kind, 128), defaultBackward(dev), DEFAULT_DECODE);
    }

    /** The forward versions (the kinds of {@link #VARIANTS}), ascending. */
    public static List<Integer> forwardVersions() {
        return VARIANTS.stream().map(Variant::kind).distinct().sorted().toList();
    }

    /** The variant of forward version kind for head dimension d (64 or 128). */
    private static Variant variantOf(int kind, int d) {
        for (Variant v : VARIANTS) {
            if (v.kind() == kind && v.headDim() == d) {
                return v;
            }
        }
        throw new IllegalArgumentException("kind: the forward versions are " + forwardVersions() + ", got " + kind);
    }

    /** The variant with this kernel name. */
    public static Variant find(String kernel) {
        for (Variant v : VARIANTS) {
            if (v.kernel().equals(kernel)) {
                return v;
            }
        }
        throw new IllegalArgumentException("variant: no bf16 kernel named " + kernel);
    }

    @Override
    public String name() {
        return "cuda-bf16(" + forD128.kernel() + ", backward " + backwardVersion + ", decode " + decodeVersion + ")";
    }

    @Override
    public Precision precision() {
        return Precision.BF16;
    }

    /** The kernel used for head dimension d ({@code D <= 64} pads to 64 where a 64 kernel is set, else to 128). */
    public Variant variantFor(int d) {
        if (d > 128) {
            throw new InvalidInputException("headDim", "the bf16 kernels support D <= 128 (64 and 128 natively, smaller D "
                    + "zero-padded), got " + d);
        }
        if (d <= 64 && forD64 != null) {
            return forD64;
        }
        if (forD128.headDim() < d) {
            throw new InvalidInputException("headDim", "kernel " + forD128.kernel() + " handles D <= "
                    + forD128.headDim() + ", got " + d);
        }
        return forD128;
    }

    /** Sizes of a call: the shape with D padded to the variant's head dimension. */
    private Bf16Kernels.Dims dims(Shape s) {
        return new Bf16Kernels.Dims(s.batch(), s.seqLen(), s.qHeads(), s.kvHeads(), variantFor(s.headDim()).headDim(),
                s.kvSeqLen());
    }

    /**
     * Every segment table (forward and backward), D <= 128: on the mma.sync forward and the backward of
     * {@link #backwardVersion()} (tensor cores by default, the SIMT backward with {@code withBackward(SIMT)}).
     */
    @Override
    public boolean supportsSegments() {
        return true;
    }

    /**
     * The inputs of a call on the device: its segment table (null for self-attention), q, k, v packed to bf16 with
     * D padded to the kernels' dp, and the route mask z. Freed on close.
     */
    private final class Uploaded implements AutoCloseable {
        final SegmentTable.OnDevice seg;
        final DeviceBuffer q, k, v, z;

        Uploaded(AttentionInputs in, Bf16Kernels.Dims d) {
            int hd = in.shape().headDim();
            seg = segmentTable(in);
            DeviceBuffer[] b = DeviceBuffer.allocateAll(this::closeTable, List.of(
                    () -> DeviceBuffer.of(device, DeviceTensors.packBf16(in.q(), hd, d.dp()), "q(bf16)"),
                    () -> DeviceBuffer.of(device, DeviceTensors.packBf16(in.k(), hd, d.dp()), "k(bf16)"),
                    () -> DeviceBuffer.of(device, DeviceTensors.packBf16(in.v(), hd, d.dp()), "v(bf16)"),
                    () -> DeviceBuffer.of(device, RouteCompaction.maskBytes(in.route()), "z")));
            q = b[0];
            k = b[1];
            v = b[2];
            z = b[3];
        }

        private void closeTable() {
            if (seg != null) {
                seg.close();
            }
        }

        @Override
        public void close() {
            DeviceBuffer.closeAll(q, k, v, z);
            closeTable();
        }
    }

    /**
     * The segment table of non-self-attention inputs on the device, or null for self-attention (spec 1.x).
     *
     * @param in not modified
     */
    private SegmentTable.OnDevice segmentTable(AttentionInputs in) {
        if (in.segments().isSelfAttention()) {
            return null;
        }
        SegmentTable t = SegmentTable.of(in.segments());
        KernelPlan.checkShape(in.shape(), t);
        return t.upload(device);
    }

    /** The forward variant of a call: the instance's for self-attention, {@link #segmentVariantFor} for a table. */
    private Variant variantFor(Shape s, SegmentTable.OnDevice seg) {
        return seg == null ? variantFor(s.headDim()) : segmentVariantFor(s.headDim(), seg.host(), s.qHeads());
    }

    /**
     * The forward variant of a segment-table call for head dimension d: the instance's, except that a wgmma
     * (version 3) variant whose grid would not fill the device's resident blocks once gives way to the version-1
     * (mma.sync) variant of the same D, whose 64-row tiles make twice the blocks. Measured on the H200: a 512-row
     * chunk at offset 32256 ran 1.054 ms on mma.sync against 1.438 ms for the same rows on 128-row wgmma tiles
     * (bench/results/2026-12-02-bf16-segments.md), while packed batches of 8192 rows ran 1.48-1.55x faster on
     * version 3 (bench/results/2026-12-02-bf16-v3-pipe.md).
     *
     * @param t the table (count, longest query range); not modified
     */
    public Variant segmentVariantFor(int d, SegmentTable t, int qHeads) {
        Variant v = variantFor(d);
        if (!v.hopperOnly()) {
            return v;
        }
        long grid = (long) ((t.maxQueries() + v.blockM() - 1) / v.blockM() + 1) * t.count() * qHeads;
        long resident = (long) device.multiprocessors() * v.blocksPerSm();
        return grid >= resident ? v : variantOf(1, v.headDim());
    }

    /** The compacted hard route of the device mask z [B*Sq] (per batch row, or per segment). */
    private RouteCompaction.DeviceLists compact(Bf16Kernels.Dims d, DeviceBuffer z, SegmentTable.OnDevice seg) {
        return seg == null ? RouteCompaction.onDevice(device, z, d.batch(), d.seqLen())
                : RouteCompaction.onDevice(device, z, seg, d.rows());
    }

    /** The SOFT estimator's identity lists (per batch row, or per segment). */
    private RouteCompaction.DeviceLists identity(Bf16Kernels.Dims d, SegmentTable.OnDevice seg) {
        return seg == null ? RouteCompaction.identity(device, d.batch(), d.seqLen())
                : RouteCompaction.identity(device, seg.host());
    }

    /** Per-row values [B,S] as fp32 on the device: f(r) for each row r. */
    private DeviceBuffer rowValues(Route route, IntToDoubleFunction f, String label) {
        float[] x = new float[route.batch() * route.seqLen()];
        for (int r = 0; r < x.length; r++) {
            x[r] = (float) f.applyAsDouble(r);
        }
        return DeviceBuffer.of(device, x, label);
    }

    /**
     * Branch forward of the variant over the lists: o, lse at the listed rows. q, k, v, lists not modified.
     */
    private void forwardOver(Bf16Kernels.Dims d, Variant var, int window, double scale, DeviceBuffer q,
                             DeviceBuffer k, DeviceBuffer v, DeviceBuffer o, DeviceBuffer lse,
                             RouteCompaction.DeviceLists lists, SegmentTable.OnDevice seg) {
        if (seg != null) {
            kernels.forward(var, d, window, scale, q, k, v, o, lse, lists, seg);
        } else {
            kernels.forward(var, d, window, scale, q, k, v, o, lse, lists);
        }
    }

    /**
     * The forward outputs of both branches for every token (the identity list on each branch): oF, lseF (full
     * branch) and oW, lseW (window branch). Modifies oF, lseF, oW, lseW.
     */
    private void bothBranches(Bf16Kernels.Dims d, Variant var, AttentionInputs in, DeviceBuffer q, DeviceBuffer k,
                              DeviceBuffer v, DeviceBuffer oF, DeviceBuffer lseF, DeviceBuffer oW, DeviceBuffer lseW,
                              SegmentTable.OnDevice seg) {
        try (RouteCompaction.DeviceLists all = identity(d, seg)) {
            forwardOver(d, var, in.window(), in.scale(), q, k, v, oF, lseF, all.fullOnly(), seg);
            forwardOver(d, var, in.window(), in.scale(), q, k, v, oW, lseW, all.windowOnly(), seg);
            device.synchronize();
        }
    }

    private static double pc(Route route, int r) {
        return Sigmoid.complement(route.logit(r));
    }

    /**
     * Forward pass: O [B,S,Hq,D] (bf16 values) and LSE [B,S,Hq] (fp32 values), as doubles.
     * HARD, STRAIGHT_THROUGH, SELECTED_BRANCH: each token's selected branch; SOFT: o = bf16(p oF + (1-p) oW) from
     * the two branch outputs (bf16), LSE of the hard route's branch.
     *
     * @param in validated inputs; not modified
     */
    @Override
    public ForwardResult forward(AttentionInputs in) {
        device.makeCurrent();
        if (!in.segments().isSelfAttention() && DecodePlan.isDecode(in)) {
            int dp = variantFor(in.shape().headDim()).headDim();
            return CudaDecode.forward(device, Precision.BF16, decodeVersion, in, dp);
        }
        Shape s = in.shape();
        Bf16Kernels.Dims d = dims(s);
        int hd = s.headDim();
        Route route = in.route();
        try (Uploaded up = new Uploaded(in, d);
             DeviceBuffer o = DeviceBuffer.allocate(device, 2L * d.qElems(), "o(bf16)");
             DeviceBuffer lse = DeviceBuffer.allocate(device, 4L * d.lseElems(), "lse(fp32)")) {
            SegmentTable.OnDevice seg = up.seg;
            DeviceBuffer q = up.q, k = up.k, v = up.v, z = up.z;
            o.fill((byte) 0xFF);  // NaN poison: every element must be written
            lse.fill((byte) 0xFF);
            Variant var = variantFor(s, seg);
            if (in.estimator() != Estimator.SOFT) {
                // 1. o = oZ: compaction + one routed launch
                try (RouteCompaction.DeviceLists lists = compact(d, z, seg)) {
                    forwardOver(d, var, in.window(), in.scale(), q, k, v, o, lse, lists, seg);
                }
            } else {
                // 2. o = p oF + (1-p) oW: both branches for every token, then the mix
                try (DeviceBuffer oF = DeviceBuffer.allocate(device, 2L * d.qElems(), "oF(bf16)");
                     DeviceBuffer oW = DeviceBuffer.allocate(device, 2L * d.qElems(), "oW(bf16)");
                     DeviceBuffer lseF = DeviceBuffer.allocate(device, 4L * d.lseElems(), "lseF");
                     DeviceBuffer lseW = DeviceBuffer.allocate(device, 4L * d.lseElems(), "lseW");
                     DeviceBuffer pF = rowValues(route, r -> route.probability(r), "pF");
                     DeviceBuffer pW = rowValues(route, r -> pc(route, r), "pW")) {
                    bothBranches(d, var, in, q, k, v, oF, lseF, oW, lseW, seg);
                    kernels.softCombine(d, oF, oW, pF, pW, lseF, lseW, z, o, lse);
                    device.synchronize();
                }
            }
            device.synchronize();
            return new ForwardResult(s, DeviceTensors.unpackBf16(o.toInts((int) (d.qElems() / 2)), s.lseSize(), hd, d.dp()),
                    DeviceTensors.widen(lse.toFloats(s.lseSize())));
        }
    }


    /**
     * Backward pass for the inputs' estimator: dQ, dK, dV (bf16 values) and dL/da (fp32 values), as doubles.
     * Deterministic: the same inputs give bit-identical outputs (no atomics). The forward is recomputed in bf16
     * (the kernels' O and LSE), {@code delta = c <dO, o>} in fp32, then dK/dV per key tile and dQ per query tile
     * with {@link #backwardVersion()}'s kernels:
     * <pre>{@code
     *   HARD, STRAIGHT_THROUGH, SELECTED_BRANCH   the selected branch only (routed lists), c = 1
     *   SOFT                                      both branches for every token, c = p (full), 1 - p (window)
     *   dL/da   HARD 0;  STE, SOFT p(1-p) sum_h <dO, oF - oW>;  SB (z - p) sum_h <dO, oZ>   (fp32 sums)
     * }</pre>
     * dO is rounded to bf16 like the inputs.
     *
     * @param in   validated inputs; not modified
     * @param dOut dL/dO [B,S,Hq,D]; not modified
     */
    @Override
    public BackwardResult backward(AttentionInputs in, double[] dOut) {
        in.checkOutputGradient(dOut);
        device.makeCurrent();
        Shape s = in.shape();
        Bf16Kernels.Dims d = dims(s);
        int hd = s.headDim();
        Route route = in.route();
        Estimator est = in.estimator();
        try (Uploaded up = new Uploaded(in, d);
             DeviceBuffer dO = DeviceBuffer.of(device, DeviceTensors.packBf16(dOut, hd, d.dp()), "dO(bf16)");
             DeviceBuffer dQ = DeviceBuffer.allocate(device, 2L * d.qElems(), "dQ(bf16)");
             DeviceBuffer dK = DeviceBuffer.allocate(device, 2L * d.kvElems(), "dK(bf16)");
             DeviceBuffer dV = DeviceBuffer.allocate(device, 2L * d.kvElems(), "dV(bf16)");
             DeviceBuffer dA = DeviceBuffer.allocate(device, 4L * d.rows(), "dRouterLogit(fp32)")) {
            SegmentTable.OnDevice seg = up.seg;
            DeviceBuffer q = up.q, k = up.k, v = up.v, z = up.z;
            dQ.fill((byte) 0xFF);  // NaN poison: every element must be written
            // (segment tables: key rows outside every segment are not written and have dK = dV = 0)
            dK.fill(seg == null ? (byte) 0xFF : 0);
            dV.fill(seg == null ? (byte) 0xFF : 0);
            Variant var = variantFor(s, seg);
            if (est != Estimator.SOFT) {
                routedBackward(d, var, in, q, k, v, dO, z, dQ, dK, dV, dA, seg);
            } else {
                softBackward(d, var, in, q, k, v, dO, dQ, dK, dV, dA, seg);
            }
            device.synchronize();
            double[] dRouter = est == Estimator.HARD ? new double[s.rows()] : DeviceTensors.widen(dA.toFloats(s.rows()));
            return new BackwardResult(s,
                    DeviceTensors.unpackBf16(dQ.toInts((int) (d.qElems() / 2)), s.rows() * s.qHeads(), hd, d.dp()),
                    DeviceTensors.unpackBf16(dK.toInts((int) (d.kvElems() / 2)), s.kvRows() * s.kvHeads(), hd, d.dp()),
                    DeviceTensors.unpackBf16(dV.toInts((int) (d.kvElems() / 2)), s.kvRows() * s.kvHeads(), hd, d.dp()),
                    dRouter);
        }
    }

    /** HARD, STRAIGHT_THROUGH, SELECTED_BRANCH: gradients through the selected branch. dQ, dK, dV, dA modified. */
    private void routedBackward(Bf16Kernels.Dims d, Variant var, AttentionInputs in, DeviceBuffer q, DeviceBuffer k,
                                DeviceBuffer v, DeviceBuffer dO, DeviceBuffer z, DeviceBuffer dQ, DeviceBuffer dK,
                                DeviceBuffer dV, DeviceBuffer dA, SegmentTable.OnDevice seg) {
        Route route = in.route();
        int w = in.window();
        double sc = in.scale();
        try (DeviceBuffer o = DeviceBuffer.allocate(device, 2L * d.qElems(), "o(bf16)");
             DeviceBuffer lse = DeviceBuffer.allocate(device, 4L * d.lseElems(), "lse");
             DeviceBuffer delta = DeviceBuffer.allocate(device, 4L * d.lseElems(), "delta");
             RouteCompaction.DeviceLists lists = compact(d, z, seg)) {
            // 1. forward recomputed: o, lse of each token's branch; delta = <dO, o>
            forwardOver(d, var, w, sc, q, k, v, o, lse, lists, seg);
            kernels.delta(d, dO, o, null, delta);
            // 2. dK, dV, dQ
            BackwardOperands ops = BackwardOperands.routed(q, k, v, dO, lists, lse, delta);
            if (backwardVersion.tensorCores()) {
                gradients(() -> kernels.dKdVmma(backwardVersion, d, w, sc, ops, dK, dV, seg),
                        () -> kernels.dQmma(backwardVersion, d, w, sc, ops, false, dQ, seg));
            } else {
                try (DeviceBuffer dQacc = DeviceBuffer.allocate(device, 4L * d.qElems(), "dQ(fp32)")) {
                    kernels.dKdVsimt(d, w, sc, ops, dK, dV, seg);
                    kernels.dQsimt(d, w, sc, ops, dQacc, false, seg);
                    kernels.toBf16(dQacc, dQ, d.qElems());
                    device.synchronize();
                }
            }
            // 3. router gradient
            if (in.estimator() == Estimator.SELECTED_BRANCH) {
                try (DeviceBuffer factor = rowValues(route,
                        r -> route.isFull(r) ? pc(route, r) : -route.probability(r), "factor")) {
                    kernels.routerGrad(d, dO, o, null, factor, dA);
                    device.synchronize();
                }
            } else if (in.estimator() == Estimator.STRAIGHT_THROUGH) {
                try (DeviceBuffer oF = DeviceBuffer.allocate(device, 2L * d.qElems(), "oF(bf16)");
                     DeviceBuffer oW = DeviceBuffer.allocate(device, 2L * d.qElems(), "oW(bf16)");
                     DeviceBuffer lseF = DeviceBuffer.allocate(device, 4L * d.lseElems(), "lseF");
                     DeviceBuffer lseW = DeviceBuffer.allocate(device, 4L * d.lseElems(), "lseW");
                     DeviceBuffer factor = rowValues(route, r -> route.probability(r) * pc(route, r), "factor")) {
                    bothBranches(d, var, in, q, k, v, oF, lseF, oW, lseW, seg);
                    kernels.routerGrad(d, dO, oF, oW, factor, dA);
                    device.synchronize();
                }
            }
            device.synchronize();
        }
    }

    /** SOFT: both branches for every token, weighted p and 1-p. dQ, dK, dV, dA modified. */
    private void softBackward(Bf16Kernels.Dims d, Variant var, AttentionInputs in, DeviceBuffer q, DeviceBuffer k,
                              DeviceBuffer v, DeviceBuffer dO, DeviceBuffer dQ, DeviceBuffer dK, DeviceBuffer dV,
                              DeviceBuffer dA, SegmentTable.OnDevice seg) {
        Route route = in.route();
        int w = in.window();
        double sc = in.scale();
        try (DeviceBuffer oF = DeviceBuffer.allocate(device, 2L * d.qElems(), "oF(bf16)");
             DeviceBuffer oW = DeviceBuffer.allocate(device, 2L * d.qElems(), "oW(bf16)");
             DeviceBuffer lseF = DeviceBuffer.allocate(device, 4L * d.lseElems(), "lseF");
             DeviceBuffer lseW = DeviceBuffer.allocate(device, 4L * d.lseElems(), "lseW");
             DeviceBuffer deltaF = DeviceBuffer.allocate(device, 4L * d.lseElems(), "deltaF");
             DeviceBuffer deltaW = DeviceBuffer.allocate(device, 4L * d.lseElems(), "deltaW");
             DeviceBuffer pF = rowValues(route, r -> route.probability(r), "pF");
             DeviceBuffer pW = rowValues(route, r -> pc(route, r), "pW");
             DeviceBuffer factor = rowValues(route, r -> route.probability(r) * pc(route, r), "factor")) {
            // 1. both branches' forward for every token; deltaB = cB <dO, oB>
            bothBranches(d, var, in, q, k, v, oF, lseF, oW, lseW, seg);
            kernels.delta(d, dO, oF, pF, deltaF);
            kernels.delta(d, dO, oW, pW, deltaW);
            // 2. dK, dV, dQ over the identity lists of both branches
            try (RouteCompaction.DeviceLists all = identity(d, seg)) {
                BackwardOperands ops = new BackwardOperands(q, k, v, dO, all,
                        new BackwardOperands.Branch(lseF, deltaF, pF), new BackwardOperands.Branch(lseW, deltaW, pW));
                if (backwardVersion.tensorCores()) {
                    gradients(() -> kernels.dKdVmma(backwardVersion, d, w, sc, ops, dK, dV, seg),
                            () -> kernels.dQmma(backwardVersion, d, w, sc, ops.withLists(all.fullOnly()), true, dQ,
                                    seg));
                    device.synchronize();
                } else {
                    try (DeviceBuffer dQacc = DeviceBuffer.allocate(device, 4L * d.qElems(), "dQ(fp32)")) {
                        kernels.dKdVsimt(d, w, sc, ops, dK, dV, seg);
                        kernels.dQsimt(d, w, sc, ops.withLists(all.fullOnly()), dQacc, false, seg);
                        kernels.dQsimt(d, w, sc, ops.withLists(all.windowOnly()), dQacc, true, seg);
                        kernels.toBf16(dQacc, dQ, d.qElems());
                        device.synchronize();
                    }
                }
            }
            // 3. router gradient p(1-p) sum_h <dO, oF - oW>
            kernels.routerGrad(d, dO, oF, oW, factor, dA);
            device.synchronize();
        }
    }
}
