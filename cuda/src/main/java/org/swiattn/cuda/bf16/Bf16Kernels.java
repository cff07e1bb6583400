package org.swiattn.cuda.bf16;

import org.swiattn.cuda.BackwardOperands;
import org.swiattn.cuda.KernelPlan;
import org.swiattn.cuda.RouteCompaction;
import org.swiattn.cuda.SegmentTable;
import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.cuda.driver.KernelModule;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * The launches of the bf16 routed attention on device-resident tensors (asynchronous: call
 * {@link CudaDevice#synchronize()} before reading results). {@link Bf16Attention} builds on it; the benchmark
 * ({@code swiattn bench --dtype bf16}) uses it directly on data generated on the GPU. The route compaction, the
 * list format, the tile schedule and the row helpers are those of every precision ({@link RouteCompaction},
 * {@code common.cuh}, {@code attention_util.cu}).
 *
 * <p>Tensors are {@link DeviceBuffer}s, row-major, bf16 with the head dimension padded to {@code dp} (64 or 128):
 * <pre>{@code
 *   q, o, dO, dQ [B,S,Hq,dp] bf16    k, v, dK, dV [B,S,Hkv,dp] bf16
 *   lse, delta [B,S,Hq] fp32         coef, factor, dA [B,S] fp32       dQacc [B,S,Hq,dp] fp32 (SIMT backward)
 *   z [B,S] uint8 (1 = full)         lists: RouteCompaction.DeviceLists
 *   segment tables (the overloads taking a SegmentTable.OnDevice): q, o, dO, dQ [B*Sq,...], k, v, dK, dV
 *   [B*Sk,...] flat; the mma.sync forward (version 1) and both backward versions
 * }</pre>
 */
public final class Bf16Kernels {
    /** The forward fatbin (relative to the kernel resource directory). */
    public static final String FORWARD_MODULE = "bf16/attn_fwd_bf16";
    /** The backward fatbin. */
    public static final String BACKWARD_MODULE = "bf16/attn_bwd_bf16";
    /** Rows per tile of the tensor-core backward kernels. */
    public static final int MMA_TILE = 64;
    /** Threads per block of the tensor-core backward kernels. */
    public static final int MMA_THREADS = 128;

    /** Backward kernel versions (side by side). */
    public enum BackwardVersion {
        /** The fp32 tiled SIMT backward (attention_backward.cuh, v2) with bf16 storage: fp32 on the CUDA cores. */
        SIMT(null),
        /**
         * Tensor cores (mma.sync m16n8k16), bf16 operands, fp32 accumulation, cp.async double buffering (kernels
         * {@code swi_bwd_*_mma2_bf16_d<dp>}): the next query chunk (dK/dV) or key tile (dQ) is staged while the
         * current one computes. Dynamic shared memory {@link #mmaSharedBytes}. Compute capability 8.0+.
         */
        MMA("mma2"),
        /**
         * Hopper warpgroup MMA (kernels {@code swi_bwd_*_wgmma_bf16_d<dp>}, bf16/attn_bwd_bf16_wgmma.cuh): MMA's
         * schedule, staging and element steps, each product one wgmma for the block's warpgroup with its B operand
         * read from shared memory. Dynamic shared memory {@link #mmaSharedBytes} + 1024 (tile alignment). Compute
         * capability 9.0 only (sm_90a).
         */
        WGMMA("wgmma");

        private final String tag;

        BackwardVersion(String tag) {
            this.tag = tag;
        }

        /** Whether this version runs the tensor-core kernels {@code swi_bwd_{dkdv,dq}_<tag>_bf16_d<dp>}. */
        public boolean tensorCores() {
            return tag != null;
        }

        /** The kernel name tag of a tensor-core version ({@code mma2}, {@code wgmma}). */
        public String tag() {
            if (tag == null) {
                throw new IllegalStateException(this + " has no tensor-core kernels");
            }
            return tag;
        }

        /** Whether the version needs compute capability 9.0 (its kernels are built for sm_90a only). */
        public boolean needsHopper() {
            return this == WGMMA;
        }

        /** Whether a device of this compute capability (major * 10 + minor) runs the version. */
        public boolean runsOn(int computeCapability) {
            return !needsHopper() || computeCapability == 90;
        }

        /** Dynamic shared bytes of this tensor-core version's kernels at padded head dimension dp. */
        public int sharedBytes(int dp) {
            return mmaSharedBytes(dp) + (this == WGMMA ? 1024 : 0);
        }
    }

    /**
     * Sizes of a launch: B, Sq, Hq, Hkv, the padded head dimension dp (64 or 128) and Sk (= Sq in self-attention).
     */
    public record Dims(int batch, int seqLen, int qHeads, int kvHeads, int dp, int kvSeqLen) {
        public Dims {
            if (dp != 64 && dp != 128) {
                throw new InvalidInputException("headDim", "bf16 kernels run D = 64 or 128 (padded), got " + dp);
            }
        }

        /** Self-attention sizes (Sk = Sq = S). */
        public Dims(int batch, int seqLen, int qHeads, int kvHeads, int dp) {
            this(batch, seqLen, qHeads, kvHeads, dp, seqLen);
        }

        /** B*S. */
        public int rows() {
            return batch * seqLen;
        }

        /** Elements of a [B,S,Hq,dp] tensor. */
        public long qElems() {
            return (long) rows() * qHeads * dp;
        }

        /** Elements of a [B,Sk,Hkv,dp] tensor. */
        public long kvElems() {
            return (long) batch * kvSeqLen * kvHeads * dp;
        }

        /** Elements of a [B,S,Hq] tensor. */
        public long lseElems() {
            return (long) rows() * qHeads;
        }

        /** The same sizes as a spec shape (D = dp). */
        public Shape shape() {
            return new Shape(batch, seqLen, qHeads, kvHeads, dp, kvSeqLen);
        }
    }

    private final CudaDevice dev;
    private final KernelModule fwd;
    private final KernelModule bwd;
    private final KernelModule util;

    /** @param dev the device; the bf16 modules are loaded now (fails naming the fatbin when not packaged) */
    public Bf16Kernels(CudaDevice dev) {
        this.dev = dev;
        this.fwd = dev.module(FORWARD_MODULE);
        this.bwd = dev.module(BACKWARD_MODULE);
        this.util = dev.module(KernelPlan.UTIL_MODULE);
        dev.module(RouteCompaction.MODULE);
    }

    public CudaDevice device() {
        return dev;
    }

    /**
     * Route compaction into existing lists (the kernel of every precision, {@link RouteCompaction#compactInto}).
     *
     * @param z [B,S] uint8; not modified
     */
    public void compact(Dims d, DeviceBuffer z, RouteCompaction.DeviceLists lists) {
        RouteCompaction.compactInto(dev, z, lists, d.batch(), d.seqLen());
    }

    /**
     * Routed forward over the lists: o [B,S,Hq,dp] bf16 and lse [B,S,Hq] fp32 at the listed rows.
     *
     * @param var a variant with headDim == dp; q, k, v, lists not modified
     */
    public void forward(Bf16Attention.Variant var, Dims d, int window, double scale, DeviceBuffer q, DeviceBuffer k,
                        DeviceBuffer v, DeviceBuffer o, DeviceBuffer lse, RouteCompaction.DeviceLists lists) {
        if (var.headDim() != d.dp()) {
            throw new IllegalArgumentException("variant " + var.kernel() + " is for D = " + var.headDim()
                    + ", tensors are padded to " + d.dp());
        }
        long grid = (long) ((d.seqLen() + var.blockM() - 1) / var.blockM() + 1) * d.batch() * d.qHeads();
        fwd.kernel(var.kernel()).launch1d(grid, var.threads(), var.sharedBytes(), q, k, v, o, lse, lists.listF(),
                lists.nF(), lists.listW(), lists.nW(), d.batch(), d.seqLen(), d.qHeads(), d.kvHeads(),
                Visibility.effectiveWindow(window, d.seqLen()), (float) (scale * 1.4426950408889634));
    }

    /**
     * Forward over a segment table (spec 2.0; kernel {@code <variant>_seg}): o, lse at the listed flat rows. Lists
     * from RouteCompaction's segment compaction or identity.
     *
     * @param var a variant with headDim == dp; q, k, v, lists, seg not modified
     */
    public void forward(Bf16Attention.Variant var, Dims d, int window, double scale, DeviceBuffer q, DeviceBuffer k,
                        DeviceBuffer v, DeviceBuffer o, DeviceBuffer lse, RouteCompaction.DeviceLists lists,
                        SegmentTable.OnDevice seg) {
        if (var.headDim() != d.dp()) {
            throw new IllegalArgumentException("segment tables of D = " + d.dp() + " need a D = " + d.dp()
                    + " variant, got " + var.kernel());
        }
        SegmentTable t = seg.host();
        KernelPlan.checkShape(d.shape(), t);
        long grid = (long) ((t.maxQueries() + var.blockM() - 1) / var.blockM() + 1) * t.count() * d.qHeads();
        fwd.kernel(var.kernel() + "_seg").launch1d(grid, var.threads(), var.sharedBytes(), q, k, v, o, lse,
                lists.listF(), lists.nF(), lists.listW(), lists.nW(), t.count(), t.maxKeys(), d.qHeads(),
                d.kvHeads(), Visibility.effectiveWindow(window, t.maxKeys()), (float) (scale * 1.4426950408889634),
                seg.buffer());
    }

    /**
     * SOFT mixing, in fp32, rounded once to bf16:
     * <pre>{@code
     *   o = bf16(pF oF + pW oW),  lse = z ? lseF : lseW
     * }</pre>
     *
     * @param oF [B,S,Hq,dp] not modified (likewise oW, pF, pW, lseF, lseW, z); o, lse modified
     */
    public void softCombine(Dims d, DeviceBuffer oF, DeviceBuffer oW, DeviceBuffer pF, DeviceBuffer pW,
                            DeviceBuffer lseF, DeviceBuffer lseW, DeviceBuffer z, DeviceBuffer o, DeviceBuffer lse) {
        long n = d.qElems();
        util.kernel("swi_soft_combine_bf16").launch1d((n + 255) / 256, 256, 0, oF, oW, pF, pW, lseF, lseW, z, o,
                lse, d.rows(), d.qHeads(), d.dp());
    }

    /**
     * The row dot products of the backward, in fp32 (coef null = 1):
     * <pre>{@code
     *   delta[r,h] = coef[r] * <dO[r,h,:], x[r,h,:]>
     * }</pre>
     *
     * @param dO [B,S,Hq,dp] not modified; x likewise; delta [B,S,Hq] modified
     */
    public void delta(Dims d, DeviceBuffer dO, DeviceBuffer x, DeviceBuffer coef, DeviceBuffer delta) {
        util.kernel("swi_delta_bf16").launch1d((d.lseElems() + 7) / 8, 256, 0, dO, x, coef, delta, d.rows(),
                d.qHeads(), d.dp());
    }

    /**
     * The router-logit gradient rows in fp32 (y null = 0):
     * <pre>{@code
     *   dA[r] = factor[r] * sum_{h,d} dO[r,h,d] (x[r,h,d] - y[r,h,d])
     * }</pre>
     *
     * @param dO [B,S,Hq,dp] not modified (likewise x, y, factor); dA [B,S] modified
     */
    public void routerGrad(Dims d, DeviceBuffer dO, DeviceBuffer x, DeviceBuffer y, DeviceBuffer factor,
                           DeviceBuffer dA) {
        util.kernel("swi_router_grad_bf16").launch1d(d.rows(), 256, 0, dO, x, y, factor, dA, d.rows(),
                d.qHeads() * d.dp());
    }

    /**
     * Dynamic shared bytes of the tensor-core backward kernels: a fixed pair of tiles and two buffered pairs (6 bf16
     * tiles of 64 x dp), 3 slots of 64 positions and 2 slots of 3 row arrays (64 words each).
     */
    public static int mmaSharedBytes(int dp) {
        return 6 * MMA_TILE * dp * 2 + (3 + 2 * 3) * MMA_TILE * 4;
    }

    /** The SIMT backward's tile configuration: the fp32 v2 backward's (the same template, bf16 storage). */
    public static KernelPlan.TileConfig simtConfig(int dp) {
        return KernelPlan.backwardV2(Precision.FP32, dp);
    }

    /** Blocks of a tensor-core dK/dV launch: one per (key tile, kv head, batch). */
    public static long mmaKeyBlocks(Dims d) {
        return (long) ((d.seqLen() + MMA_TILE - 1) / MMA_TILE) * d.kvHeads() * d.batch();
    }

    /** Blocks of a query-tile launch (tensor-core and SIMT dQ): (ceil(S/64) + 1) * Hq * B. */
    public static long queryBlocks(Dims d) {
        return (long) ((d.seqLen() + MMA_TILE - 1) / MMA_TILE + 1) * d.qHeads() * d.batch();
    }

    /**
     * Blocks of a tensor-core dK/dV launch over a segment table: one per (key tile of the longest segment, kv head,
     * segment).
     */
    public static long mmaKeyBlocks(Dims d, SegmentTable t) {
        return (long) ((t.maxKeys() + MMA_TILE - 1) / MMA_TILE) * d.kvHeads() * t.count();
    }

    /** Blocks of a query-tile launch over a segment table: (ceil(max qLen/64) + 1) * Hq * segments. */
    public static long queryBlocks(Dims d, SegmentTable t) {
        return (long) ((t.maxQueries() + MMA_TILE - 1) / MMA_TILE + 1) * d.qHeads() * t.count();
    }

    /**
     * Tensor-core dK, dV (kernel {@code swi_bwd_dkdv_<tag>_bf16_d<dp>} of version ver, with a segment table
     * {@code _seg}) from both branches of the operands, overwritten, bf16; seg null: self-attention. Over a segment
     * table the key rows inside a segment are overwritten, the others not written (zero them first).
     *
     * @param ops not modified; dK, dV modified
     */
    public void dKdVmma(BackwardVersion ver, Dims d, int window, double scale, BackwardOperands ops, DeviceBuffer dK,
                        DeviceBuffer dV, SegmentTable.OnDevice seg) {
        SegmentTable t = seg == null ? null : seg.host();
        int entries = t == null ? d.batch() : t.count(), keys = t == null ? d.seqLen() : t.maxKeys();
        bwd.kernel("swi_bwd_dkdv_" + ver.tag() + "_bf16_d" + d.dp() + (t == null ? "" : "_seg")).launch1d(
                t == null ? mmaKeyBlocks(d) : mmaKeyBlocks(d, t), MMA_THREADS, ver.sharedBytes(d.dp()),
                ops.kernelArgs(withTable(seg, dK, dV, entries, keys, d.qHeads(), d.kvHeads(),
                        Visibility.effectiveWindow(window, keys), (float) scale)));
    }

    /**
     * Tensor-core dQ (kernel {@code swi_bwd_dq_<tag>_bf16_d<dp>} of version ver, with a segment table {@code _seg}),
     * overwritten at the listed rows, bf16; seg null: self-attention. both: every row of the full list through both
     * branches (SOFT: the lists are the identity on the full side, the window side off); otherwise each tile through
     * its own branch.
     *
     * @param ops not modified; dQ modified at the listed rows
     */
    public void dQmma(BackwardVersion ver, Dims d, int window, double scale, BackwardOperands ops, boolean both,
                      DeviceBuffer dQ, SegmentTable.OnDevice seg) {
        SegmentTable t = seg == null ? null : seg.host();
        int entries = t == null ? d.batch() : t.count(), keys = t == null ? d.seqLen() : t.maxKeys();
        bwd.kernel("swi_bwd_dq_" + ver.tag() + "_bf16_d" + d.dp() + (t == null ? "" : "_seg")).launch1d(
                t == null ? queryBlocks(d) : queryBlocks(d, t), MMA_THREADS, ver.sharedBytes(d.dp()),
                ops.kernelArgs(withTable(seg, dQ, entries, keys, d.qHeads(), d.kvHeads(),
                        Visibility.effectiveWindow(window, keys), (float) scale, both ? 1 : 0)));
    }

    /**
     * SIMT dK, dV (overwritten, bf16): the fp32 v2 backward with bf16 storage.
     *
     * @param ops not modified; dK, dV modified
     */
    public void dKdVsimt(Dims d, int window, double scale, BackwardOperands ops, DeviceBuffer dK, DeviceBuffer dV) {
        dKdVsimt(d, window, scale, ops, dK, dV, null);
    }

    /**
     * SIMT dQ into the fp32 scratch dQacc: written, or added to when accumulate.
     *
     * @param ops not modified; dQacc modified at the listed rows
     */
    public void dQsimt(Dims d, int window, double scale, BackwardOperands ops, DeviceBuffer dQacc,
                       boolean accumulate) {
        dQsimt(d, window, scale, ops, dQacc, accumulate, null);
    }

    /**
     * SIMT dK, dV over a segment table (kernel {@code swi_bwd_dkdv_v2_bf16_d<dp>_seg}; seg null: the self-attention
     * kernel of the overload above): the key rows inside a segment overwritten, the others not written (zero them
     * first).
     *
     * @param ops not modified; dK, dV modified
     */
    public void dKdVsimt(Dims d, int window, double scale, BackwardOperands ops, DeviceBuffer dK, DeviceBuffer dV,
                         SegmentTable.OnDevice seg) {
        KernelPlan.TileConfig c = simtConfig(d.dp());
        SegmentTable t = seg == null ? null : seg.host();
        int entries = t == null ? d.batch() : t.count(), keys = t == null ? d.seqLen() : t.maxKeys();
        bwd.kernel("swi_bwd_dkdv_v2_bf16_d" + d.dp() + (t == null ? "" : "_seg")).launch(
                new int[] {(keys + c.bn() - 1) / c.bn(), d.kvHeads(), entries}, c.threads(), c.sharedBytes(),
                ops.kernelArgs(withTable(seg, entries, keys, d.qHeads(), d.kvHeads(), d.dp(),
                        Visibility.effectiveWindow(window, keys), (float) scale, dK, dV)));
    }

    /**
     * SIMT dQ over a segment table into the fp32 scratch dQacc (seg null: the overload above): written, or added to
     * when accumulate.
     *
     * @param ops not modified; dQacc modified at the listed rows
     */
    public void dQsimt(Dims d, int window, double scale, BackwardOperands ops, DeviceBuffer dQacc,
                       boolean accumulate, SegmentTable.OnDevice seg) {
        KernelPlan.TileConfig c = simtConfig(d.dp());
        SegmentTable t = seg == null ? null : seg.host();
        int entries = t == null ? d.batch() : t.count(), keys = t == null ? d.seqLen() : t.maxKeys();
        long grid = t == null ? queryBlocks(d)
                : (long) ((t.maxQueries() + c.bm() - 1) / c.bm() + 1) * d.qHeads() * t.count();
        bwd.kernel("swi_bwd_dq_v2_bf16_d" + d.dp() + (t == null ? "" : "_seg")).launch1d(grid, c.threads(),
                c.sharedBytes(), ops.kernelArgs(withTable(seg, entries, keys, d.qHeads(), d.kvHeads(), d.dp(),
                        Visibility.effectiveWindow(window, keys), (float) scale, dQacc, accumulate ? 1 : 0)));
    }

    /** A launch's arguments, the segment table's buffer appended for a _seg kernel (seg not null). */
    private static Object[] withTable(SegmentTable.OnDevice seg, Object... args) {
        if (seg == null) {
            return args;
        }
        Object[] all = java.util.Arrays.copyOf(args, args.length + 1);
        all[args.length] = seg.buffer();
        return all;
    }

    /** y = bf16(x), n elements. @param x fp32, not modified; y bf16, modified */
    public void toBf16(DeviceBuffer x, DeviceBuffer y, long n) {
        util.kernel("swi_to_bf16_f32").launch1d((n + 255) / 256, 256, 0, x, y, n);
    }

    /** x = bf16(scale * N(0,1)), n elements, from a hash of (seed, index): fresh benchmark data, never zeros. */
    public void fillNormal(DeviceBuffer x, long n, long seed, double scale) {
        util.kernel("swi_fill_normal_bf16").launch1d((n + 255) / 256, 256, 0, x, n, seed, scale);
    }

    /** A kernel's exported {BM, BN, threads, dynamic shared bytes} ({@code <name>_cfg}) of the bf16 modules. */
    public int[] exportedConfig(String name) {
        KernelModule m = name.startsWith("swi_fwd_") ? fwd : bwd;
        return m.intConstants(name + "_cfg", 4);
    }
}
