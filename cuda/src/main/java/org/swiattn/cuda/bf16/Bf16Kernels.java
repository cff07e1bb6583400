package org.swiattn.cuda.bf16;

import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.cuda.driver.KernelModule;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Visibility;

/**
 * The launches of the bf16 routed attention on device-resident tensors (asynchronous: call
 * {@link CudaDevice#synchronize()} before reading results). {@link Bf16Attention} builds on it; the benchmark
 * ({@code swiattn bench --dtype bf16}, org.swiattn.cli.Bf16Bench) uses it directly on data generated on the GPU.
 *
 * <p>Tensors are {@link DeviceBuffer}s, row-major, bf16 with the head dimension padded to {@code dp} (64 or 128):
 * <pre>
 *   q, o, dO, dQ [B,S,Hq,dp] bf16    k, v, dK, dV [B,S,Hkv,dp] bf16    vt [B,Hkv,dp,Sp] bf16 (wgmma forward)
 *   lse, delta [B,S,Hq] fp32         coef, factor, dA [B,S] fp32       dQacc [B,S,Hq,dp] fp32 (SIMT backward)
 *   z [B,S] uint8 (1 = full)         order [B,S] int (full positions, then window positions), nfull [B] int
 *   listF, nF, listW, nW             the fp32 path's lists (org.swiattn.cuda.RouteCompaction), SIMT backward
 * </pre>
 */
public final class Bf16Kernels {
    /** The backward (and row-helper) fatbin. */
    public static final String BACKWARD_MODULE = "bf16/attn_bwd_bf16";
    /** Rows per tile of the tensor-core backward kernels. */
    public static final int MMA_TILE = 64;
    /** Threads per block of the tensor-core backward kernels. */
    public static final int MMA_THREADS = 128;
    /** Rows per tile of the SIMT backward kernels (BM = BN). */
    public static final int SIMT_TILE = 64;
    /** Threads per block of the SIMT backward kernels. */
    public static final int SIMT_THREADS = 256;

    /** Backward kernel versions (side by side in attn_bwd_bf16.cuh). */
    public enum BackwardVersion {
        /** Version 1: tiled SIMT, fp32 arithmetic on the CUDA cores (the fp32 backward's structure). */
        SIMT,
        /** Version 2: tensor cores (mma.sync m16n8k16), bf16 operands, fp32 accumulation. */
        MMA
    }

    /**
     * Sizes of a launch: B, S, Hq, Hkv and the padded head dimension dp (64 or 128).
     */
    public record Dims(int batch, int seqLen, int qHeads, int kvHeads, int dp) {
        public Dims {
            if (dp != 64 && dp != 128) {
                throw new InvalidInputException("headDim", "bf16 kernels run D = 64 or 128 (padded), got " + dp);
            }
        }

        /** B*S. */
        public int rows() {
            return batch * seqLen;
        }

        /** Elements of a [B,S,Hq,dp] tensor. */
        public long qElems() {
            return (long) rows() * qHeads * dp;
        }

        /** Elements of a [B,S,Hkv,dp] tensor. */
        public long kvElems() {
            return (long) rows() * kvHeads * dp;
        }

        /** Elements of a [B,S,Hq] tensor. */
        public long lseElems() {
            return (long) rows() * qHeads;
        }

        /** S rounded up to 64: the row length of the wgmma forward's V^T scratch. */
        public int paddedSeq() {
            return (seqLen + 63) / 64 * 64;
        }
    }

    private final CudaDevice dev;
    private final KernelModule fwd;
    private final KernelModule bwd;

    /** @param dev the device; both bf16 modules are loaded now (fails naming the fatbin when not packaged) */
    public Bf16Kernels(CudaDevice dev) {
        this.dev = dev;
        this.fwd = dev.module(Bf16Attention.MODULE);
        this.bwd = dev.module(BACKWARD_MODULE);
    }

    public CudaDevice device() {
        return dev;
    }

    /**
     * Route compaction: order [B,S] = the full-routed positions ascending, then the window-routed positions
     * ascending; nfull [B]. One block of 1024 threads per batch row.
     *
     * @param z [B,S] uint8; not modified
     */
    public void compact(Dims d, DeviceBuffer z, DeviceBuffer order, DeviceBuffer nfull) {
        fwd.kernel("swiattn_bf16_route_compact").launch1d(d.batch(), 1024, 0, z, order, nfull, d.seqLen());
    }

    /**
     * Routed forward over the compacted route: o [B,S,Hq,dp] bf16 and lse [B,S,Hq] fp32 for every row.
     * Version-2 variants first write V^T into vt (which must then be non-null, [B,Hkv,dp,Sp]).
     *
     * @param var a variant with headDim == dp
     */
    public void forward(Bf16Attention.Variant var, Dims d, int window, double scale, DeviceBuffer q, DeviceBuffer k,
                        DeviceBuffer v, DeviceBuffer vt, DeviceBuffer o, DeviceBuffer lse, DeviceBuffer order,
                        DeviceBuffer nfull) {
        if (var.headDim() != d.dp()) {
            throw new IllegalArgumentException("variant " + var.kernel() + " is for D = " + var.headDim()
                    + ", tensors are padded to " + d.dp());
        }
        long grid = (long) ((d.seqLen() + var.blockM() - 1) / var.blockM() + 1) * d.batch() * d.qHeads();
        float scaleLog2 = (float) (scale * 1.4426950408889634);
        if (var.kind() == 2) {
            int sp = d.paddedSeq();
            fwd.kernel("swiattn_bf16_transpose_v").launch(new int[] {sp / 64, d.dp() / 64, d.batch() * d.kvHeads()},
                    256, 0, v, vt, d.seqLen(), sp, d.kvHeads(), d.dp());
            fwd.kernel(var.kernel()).launch1d(grid, var.threads(), var.sharedBytes(), q, k, vt, o, lse, order, nfull,
                    d.batch(), d.seqLen(), sp, d.qHeads(), d.kvHeads(), Visibility.effectiveWindow(window, d.seqLen()), scaleLog2);
        } else {
            fwd.kernel(var.kernel()).launch1d(grid, var.threads(), var.sharedBytes(), q, k, v, o, lse, order, nfull,
                    d.batch(), d.seqLen(), d.qHeads(), d.kvHeads(), Visibility.effectiveWindow(window, d.seqLen()), scaleLog2);
        }
    }

    /**
     * SOFT mixing: o = bf16(pF oF + pW oW), lse = z ? lseF : lseW.
     *
     * @param oF [B,S,Hq,dp] not modified (likewise oW, pF, pW, lseF, lseW, z); o, lse modified
     */
    public void softCombine(Dims d, DeviceBuffer oF, DeviceBuffer oW, DeviceBuffer pF, DeviceBuffer pW,
                            DeviceBuffer lseF, DeviceBuffer lseW, DeviceBuffer z, DeviceBuffer o, DeviceBuffer lse) {
        long n = d.qElems();
        bwd.kernel("swiattn_bf16_soft_combine").launch1d((n + 255) / 256, 256, 0, oF, oW, pF, pW, lseF, lseW, z, o,
                lse, d.rows(), d.qHeads(), d.dp());
    }

    /**
     * delta[r,h] = coef[r] * &lt;dO[r,h,:], x[r,h,:]&gt; in fp32 (coef null = 1).
     *
     * @param dO [B,S,Hq,dp] not modified; x likewise; delta [B,S,Hq] modified
     */
    public void delta(Dims d, DeviceBuffer dO, DeviceBuffer x, DeviceBuffer coef, DeviceBuffer delta) {
        bwd.kernel("swiattn_bf16_delta").launch1d((d.lseElems() + 7) / 8, 256, 0, dO, x, coef, delta, d.rows(),
                d.qHeads(), d.dp());
    }

    /**
     * dA[r] = factor[r] * sum_{h,d} dO (x - y) in fp32 (y null = 0).
     *
     * @param dO [B,S,Hq,dp] not modified (likewise x, y, factor); dA [B,S] modified
     */
    public void routerGrad(Dims d, DeviceBuffer dO, DeviceBuffer x, DeviceBuffer y, DeviceBuffer factor,
                           DeviceBuffer dA) {
        bwd.kernel("swiattn_bf16_router_grad").launch1d(d.rows(), 256, 0, dO, x, y, factor, dA, d.rows(),
                d.qHeads() * d.dp());
    }

    /** Dynamic shared bytes of the tensor-core backward kernels: sK, sV, sQ, sdO tiles + 4 row arrays. */
    public static int mmaSharedBytes(int dp) {
        return 4 * MMA_TILE * dp * 2 + 4 * MMA_TILE * 4;
    }

    /** Dynamic shared bytes of the SIMT backward kernels (mirror of SimtLayout&lt;dp, 64, 64&gt;::BYTES). */
    public static int simtSharedBytes(int dp) {
        int ld = dp + 4;
        int ldp = SIMT_TILE + 4;
        int psz = SIMT_TILE * ldp;
        int end = 4 * SIMT_TILE * ld + psz + SIMT_TILE * ldp + 2 * SIMT_TILE;
        return end * 4 + SIMT_TILE * 4;
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
     * Tensor-core dK, dV (overwritten, bf16) from both branches. order null: SOFT (identity lists, every token on
     * both branches with coefficients coefF, coefW); otherwise the routed compaction (coef null = 1).
     *
     * @param q [B,S,Hq,dp] not modified (likewise k, v, dO, order, nfull, lse*, delta*, coef*)
     */
    public void dKdVmma(Dims d, int window, double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                        DeviceBuffer dO, DeviceBuffer order, DeviceBuffer nfull, DeviceBuffer lseF, DeviceBuffer lseW,
                        DeviceBuffer deltaF, DeviceBuffer deltaW, DeviceBuffer coefF, DeviceBuffer coefW,
                        DeviceBuffer dK, DeviceBuffer dV) {
        bwd.kernel("swiattn_bf16_bwd_dkdv_mma_d" + d.dp()).launch1d(mmaKeyBlocks(d), MMA_THREADS,
                mmaSharedBytes(d.dp()), q, k, v, dO, order, nfull, lseF, lseW, deltaF, deltaW, coefF, coefW, dK, dV,
                d.batch(), d.seqLen(), d.qHeads(), d.kvHeads(), Visibility.effectiveWindow(window, d.seqLen()), (float) scale);
    }

    /** Tensor-core dQ (overwritten, bf16); arguments as {@link #dKdVmma}. */
    public void dQmma(Dims d, int window, double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                      DeviceBuffer dO, DeviceBuffer order, DeviceBuffer nfull, DeviceBuffer lseF, DeviceBuffer lseW,
                      DeviceBuffer deltaF, DeviceBuffer deltaW, DeviceBuffer coefF, DeviceBuffer coefW,
                      DeviceBuffer dQ) {
        bwd.kernel("swiattn_bf16_bwd_dq_mma_d" + d.dp()).launch1d(queryBlocks(d), MMA_THREADS,
                mmaSharedBytes(d.dp()), q, k, v, dO, order, nfull, lseF, lseW, deltaF, deltaW, coefF, coefW, dQ,
                d.batch(), d.seqLen(), d.qHeads(), d.kvHeads(), Visibility.effectiveWindow(window, d.seqLen()), (float) scale);
    }

    /**
     * SIMT dK, dV (overwritten, bf16) from the fp32 path's lists (a null count switches a branch off).
     *
     * @param q [B,S,Hq,dp] not modified (likewise every input)
     */
    public void dKdVsimt(Dims d, int window, double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                         DeviceBuffer dO, DeviceBuffer listF, DeviceBuffer nF, DeviceBuffer listW, DeviceBuffer nW,
                         DeviceBuffer lseF, DeviceBuffer lseW, DeviceBuffer deltaF, DeviceBuffer deltaW,
                         DeviceBuffer coefF, DeviceBuffer coefW, DeviceBuffer dK, DeviceBuffer dV) {
        bwd.kernel("swiattn_bf16_bwd_dkdv_simt_d" + d.dp()).launch(
                new int[] {(d.seqLen() + SIMT_TILE - 1) / SIMT_TILE, d.kvHeads(), d.batch()}, SIMT_THREADS,
                simtSharedBytes(d.dp()), q, k, v, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW,
                d.batch(), d.seqLen(), d.qHeads(), d.kvHeads(), Visibility.effectiveWindow(window, d.seqLen()), (float) scale, dK, dV);
    }

    /** SIMT dQ into the fp32 scratch dQacc: written, or added to when accumulate; arguments as {@link #dKdVsimt}. */
    public void dQsimt(Dims d, int window, double scale, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                       DeviceBuffer dO, DeviceBuffer listF, DeviceBuffer nF, DeviceBuffer listW, DeviceBuffer nW,
                       DeviceBuffer lseF, DeviceBuffer lseW, DeviceBuffer deltaF, DeviceBuffer deltaW,
                       DeviceBuffer coefF, DeviceBuffer coefW, DeviceBuffer dQacc, boolean accumulate) {
        bwd.kernel("swiattn_bf16_bwd_dq_simt_d" + d.dp()).launch1d(queryBlocks(d), SIMT_THREADS,
                simtSharedBytes(d.dp()), q, k, v, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW,
                d.batch(), d.seqLen(), d.qHeads(), d.kvHeads(), Visibility.effectiveWindow(window, d.seqLen()), (float) scale, dQacc, accumulate ? 1 : 0);
    }

    /** y = bf16(x), n elements. @param x fp32, not modified; y bf16, modified */
    public void toBf16(DeviceBuffer x, DeviceBuffer y, long n) {
        bwd.kernel("swiattn_bf16_f32_to_bf16").launch1d((n + 255) / 256, 256, 0, x, y, n);
    }

    /** x = bf16(scale * N(0,1)), n elements, from a hash of (seed, index): fresh benchmark data, never zeros. */
    public void fillNormal(DeviceBuffer x, long n, long seed, double scale) {
        bwd.kernel("swiattn_bf16_fill_normal").launch1d((n + 255) / 256, 256, 0, x, n, seed, (float) scale);
    }

    /** The SIMT kernels' exported {BM, BN, threads, shared bytes} for dp (checked against {@link #simtSharedBytes}). */
    public int[] simtConfig(int dp) {
        return bwd.intConstants("swiattn_bf16_bwd_simt_d" + dp + "_cfg", 4);
    }
}
