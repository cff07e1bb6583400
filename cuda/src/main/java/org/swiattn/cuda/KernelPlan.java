package org.swiattn.cuda;

import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Shape;

/**
 * Host-side plan of the kernels: which version and specialisation runs a given precision and head dimension, the
 * tile configuration and shared-memory size of each (a Java mirror of the layouts in {@code attention_forward.cu},
 * {@code attention_backward.cuh} and {@code attention_backward_tc.cu}; on a GPU the kernels' exported
 * {@code <kernel>_cfg} constants are checked against it), the launch grids, and the limits of a shape. Pure Java:
 * tested without a GPU.
 *
 * <pre>{@code
 *   D specialisations  16, 32, 64, 128, 256: D runs on the smallest DMAX >= D (zero-padded); D > 256 runs v1.
 *   forward   FP64: v9 (tensor cores) when D is exactly 16/32/64/128, else v2;  FP32: v2
 *   backward  v11 (fp64 tensor cores; FP32: fp32 storage, fp64 arithmetic) when D is exactly 16/32/64/128, else
 *             v2;  v1 beyond D = 256
 * }</pre>
 */
public final class KernelPlan {
    /** Kernel versions (side by side in each .cu file). */
    public enum Version {
        /** Naive: one warp per row; any D. */
        V1,
        /** Tiled SIMT, D specialised. */
        V2,
        /**
         * Tiled fp64 tensor cores (DMMA m16n8k16), padded row strides so every fragment load is a base plus a
         * constant offset (forward only; D in {16, 32, 64, 128}). V3 to V8 were slower and live in git history.
         */
        V9,
        /**
         * Backward on the fp64 tensor cores (DMMA m16n8k16), deterministic: dK/dV per 64-key tile over 16-row query
         * chunks (heaviest tiles first), dQ per 64-row list tile over 32-key tiles, the short products summed in two
         * accumulators (backward only; D in {16, 32, 64, 128}). FP64 and FP32 (the default for both there): FP32 keeps fp32
         * storage of every operand, widened to fp64 in shared memory, fp64 arithmetic, outputs rounded once to fp32
         * (2.0x the fp32 v2 at S = 4096: bench/results/2026-12-02-backward-streams.md). V10 (unsplit, key tiles in launch order) was slower and lives in git history.
         */
        V11
    }

    /** The specialised head dimensions. */
    public static final int[] DMAX = {16, 32, 64, 128, 256};
    /** Module (fatbin) names. */
    public static final String FORWARD_MODULE = "attention_forward";
    public static final String BACKWARD_MODULE = "attention_backward";
    public static final String BACKWARD_TC_MODULE = "attention_backward_tc";
    public static final String UTIL_MODULE = "attention_util";
    /** Grid y/z limit of the CUDA launch (v1 grids put heads in y and the batch in z). */
    public static final int GRID_YZ_MAX = 65535;

    private KernelPlan() {
    }

    /** Tile configuration of a tiled kernel: rows per tile, keys per step, threads, dynamic shared bytes. */
    public record TileConfig(int bm, int bn, int threads, int sharedBytes) {
        /** The same four numbers as the kernels' exported {@code _cfg} arrays. */
        public int[] toArray() {
            return new int[] {bm, bn, threads, sharedBytes};
        }
    }

    /** One chosen kernel: module, name, version, specialisation (0 for v1) and tile configuration (null for v1). */
    public record Choice(String module, String name, Version version, int dmax, TileConfig config) {
    }

    /** Suffix of a precision, "f64" or "f32"; bf16 is not handled by this module's kernels. */
    public static String suffix(Precision p) {
        switch (p) {
            case FP64:
                return "f64";
            case FP32:
                return "f32";
            default:
                throw new InvalidInputException("precision", "CudaAttention computes in FP64 or FP32, got " + p
                        + " (bf16 kernels are org.swiattn.cuda.bf16)");
        }
    }

    /** Element size in bytes. */
    public static int elementBytes(Precision p) {
        return suffix(p).equals("f64") ? 8 : 4;
    }

    /** The smallest specialised {@code DMAX >= d}, or -1 when {@code d > 256}. */
    public static int dmax(int d) {
        for (int m : DMAX) {
            if (d <= m) {
                return m;
            }
        }
        return -1;
    }

    /**
     * Whether the fp64 tensor-core kernels (forward v9, backward v11) exist for head dimension d: 16, 32, 64 or 128
     * exactly.
     */
    public static boolean hasTensorCoreKernels(int d) {
        return d == 16 || d == 32 || d == 64 || d == 128;
    }

    /** Forward v2 tile configuration (mirror of FwdV2Layout and the SWI_FWD_V2 instantiations). */
    public static TileConfig forwardV2(Precision p, int dmax) {
        int es = elementBytes(p);
        int bm = dmax == 256 ? 32 : 64;
        int bn = es == 8 ? 32 : (dmax == 256 ? 32 : 64);
        int pad = 16 / es;
        int ldq = bm + pad;
        int ldk = bn + pad;
        int end = dmax * ldq + dmax * ldk + bn * dmax + bn * ldq + 3 * bm;
        return new TileConfig(bm, bn, 256, end * es + 4 * bm);
    }

    /** Forward v9 tile configuration (mirror of FwdV9Layout): 128 x 32 tiles, row strides D + 4 (Q, K), D + 2 (V). */
    public static TileConfig forwardV9(int d) {
        return new TileConfig(128, 32, 256, ((128 + 32) * (d + 4) + 32 * (d + 2)) * 8);
    }

    /** Backward v2 tile configuration (mirror of BwdV2Layout and the SWI_BWD_V2 instantiations). */
    public static TileConfig backwardV2(Precision p, int dmax) {
        int es = elementBytes(p);
        int t = es == 8 ? (dmax == 256 ? 16 : 32) : (dmax == 256 ? 32 : 64);
        int pad = 16 / es;
        int ld = dmax + pad;
        int ldp = t + pad;
        int ldq = t + pad;
        int psz = Math.max(t * ldp, t * ldq);
        int end = 2 * t * ld + 2 * t * ld + psz + t * ldp + 2 * t;
        return new TileConfig(t, t, 256, end * es + 4 * t);
    }

    /**
     * Backward v11 dK/dV tiles (mirror of BwdV11KvLayout): 16 query rows x 64 keys, strides D + 2; double tiles for
     * both storage types.
     */
    public static TileConfig backwardV11KeyTiles(int d) {
        int l = d + 2;
        int end = 2 * 64 * l + 4 * 16 * l + 4 * 256 + 6 * 16;
        return new TileConfig(16, 64, 256, end * 8 + 2 * 16 * 4);
    }

    /** Backward v11 dQ tiles (mirror of BwdV11QLayout): 64 list rows x 32 keys, strides D + 2; double tiles. */
    public static TileConfig backwardV11QueryTiles(int d) {
        return new TileConfig(64, 32, 256, (2 * 64 + 2 * 32) * (d + 2) * 8);
    }

    /**
     * The forward kernel for a precision and head dimension.
     *
     * @param forced a version to use instead of the default (tests), or null
     */
    public static Choice forward(Precision p, int d, Version forced) {
        String sfx = suffix(p);
        int dm = dmax(d);
        Version v = forced != null ? forced
                : (p == Precision.FP64 && hasTensorCoreKernels(d)) ? Version.V9 : dm > 0 ? Version.V2 : Version.V1;
        switch (v) {
            case V1:
                return new Choice(FORWARD_MODULE, "swi_fwd_v1_" + sfx, v, 0, null);
            case V2:
                requireDmax(dm, d, v);
                return new Choice(FORWARD_MODULE, "swi_fwd_v2_" + sfx + "_d" + dm, v, dm, forwardV2(p, dm));
            case V9:
                if (p != Precision.FP64 || !hasTensorCoreKernels(d)) {
                    throw new InvalidInputException("headDim", "forward " + v + " runs fp64 with D in {16, 32, 64, 128}, "
                            + "got " + p + " D=" + d);
                }
                return new Choice(FORWARD_MODULE, "swi_fwd_v9_f64_d" + d, v, d, forwardV9(d));
            default:
                throw new IllegalStateException();
        }
    }

    /** The backward kernels {dK/dV, dQ} for a precision and head dimension (forced: V1, V2, V11 or null). */
    public static Choice[] backward(Precision p, int d, Version forced) {
        String sfx = suffix(p);
        int dm = dmax(d);
        Version v = forced != null ? forced
                : hasTensorCoreKernels(d) ? Version.V11 : dm > 0 ? Version.V2 : Version.V1;
        switch (v) {
            case V1:
                return new Choice[] {new Choice(BACKWARD_MODULE, "swi_bwd_dkdv_v1_" + sfx, v, 0, null),
                    new Choice(BACKWARD_MODULE, "swi_bwd_dq_v1_" + sfx, v, 0, null)};
            case V2:
                requireDmax(dm, d, v);
                TileConfig c = backwardV2(p, dm);
                return new Choice[] {new Choice(BACKWARD_MODULE, "swi_bwd_dkdv_v2_" + sfx + "_d" + dm, v, dm, c),
                    new Choice(BACKWARD_MODULE, "swi_bwd_dq_v2_" + sfx + "_d" + dm, v, dm, c)};
            case V11:
                if (!hasTensorCoreKernels(d)) {
                    throw new InvalidInputException("headDim", "backward " + v + " runs D in {16, 32, 64, 128}, got "
                            + p + " D=" + d);
                }
                return new Choice[] {new Choice(BACKWARD_TC_MODULE, "swi_bwd_dkdv_v11_" + sfx + "_d" + d, v, d,
                        backwardV11KeyTiles(d)),
                    new Choice(BACKWARD_TC_MODULE, "swi_bwd_dq_v11_" + sfx + "_d" + d, v, d, backwardV11QueryTiles(d))};
            default:
                throw new InvalidInputException("version", "backward has versions V1, V2 and V11, got " + v);
        }
    }

    private static void requireDmax(int dm, int d, Version v) {
        if (dm < 0) {
            throw new InvalidInputException("headDim", "version " + v + " handles D <= 256, got D=" + d);
        }
    }

    /**
     * Grid of a forward or dQ launch over list tiles: tiled kernels get {@code tiles * Hq * B} blocks in x, where a
     * batch has at most ceil(S/BM) + 1 tiles (full and window lists together); v1 gets (S, Hq, B).
     */
    public static int[] queryGrid(Choice c, Shape sh) {
        return queryGrid(c, sh.batch(), sh.seqLen(), sh.qHeads(), sh.toString());
    }

    /**
     * The same over a segment table: one entry per segment, list tiles for the longest segment's queries.
     *
     * @param seg not modified
     */
    public static int[] queryGrid(Choice c, SegmentTable seg, Shape sh) {
        return queryGrid(c, seg.count(), seg.maxQueries(), sh.qHeads(), seg.count() + " segments of " + sh);
    }

    private static int[] queryGrid(Choice c, int entries, int rows, int qHeads, String what) {
        if (c.config() == null) {
            return new int[] {rows, qHeads, entries};
        }
        long tiles = (rows + c.config().bm() - 1) / c.config().bm() + 1;
        long blocks = tiles * qHeads * entries;
        if (blocks > Integer.MAX_VALUE) {
            throw new InvalidInputException("shape", "needs " + blocks + " blocks (> 2^31-1) for " + what);
        }
        return new int[] {(int) blocks, 1, 1};
    }

    /** Grid of a dK/dV launch: (ceil(S/BN), Hkv, B) for v2, (S, Hkv, B) for v1. */
    public static int[] keyGrid(Choice c, Shape sh) {
        return keyGrid(c, sh.batch(), sh.seqLen(), sh.kvHeads());
    }

    /** The same over a segment table: (ceil(maxKeys/BN), Hkv, n); tiles past a segment's keys return at once. */
    public static int[] keyGrid(Choice c, SegmentTable seg, Shape sh) {
        return keyGrid(c, seg.count(), seg.maxKeys(), sh.kvHeads());
    }

    private static int[] keyGrid(Choice c, int entries, int keys, int kvHeads) {
        int x = c.config() == null ? keys : (keys + c.config().bn() - 1) / c.config().bn();
        return new int[] {x, kvHeads, entries};
    }

    /**
     * The segment-table variant of a tiled kernel (name + {@code _seg}, one more argument: the table). V1 has none.
     *
     * @throws InvalidInputException for V1 (D > 256 or a forced V1), naming headDim
     */
    public static Choice segments(Choice c) {
        if (c.config() == null) {
            throw new InvalidInputException("headDim", "segment tables (chunked prefill, KV cache, packed batches) run "
                    + "on the tiled kernels (D <= 256), got kernel " + c.name());
        }
        return new Choice(c.module(), c.name() + "_seg", c.version(), c.dmax(), c.config());
    }

    /** Threads per block. */
    public static int threads(Choice c) {
        return c.config() == null ? 32 : c.config().threads();
    }

    /** Dynamic shared memory of a launch; v1 needs {@code rowsOfD} rows of D elements. */
    public static int sharedBytes(Choice c, Precision p, int d, int rowsOfD) {
        return c.config() == null ? rowsOfD * d * elementBytes(p) : c.config().sharedBytes();
    }

    /**
     * Rejects shapes the launch grids cannot hold, naming the argument: B and Hq at most 65535 (grid y/z).
     *
     * @param sh not modified
     */
    public static void checkShape(Shape sh) {
        if (sh.batch() > GRID_YZ_MAX) {
            throw new InvalidInputException("batch", "CudaAttention handles B <= " + GRID_YZ_MAX + ", got "
                    + sh.batch() + "; split the batch");
        }
        checkHeads(sh);
    }

    /**
     * The same for a segment table: at most 65535 segments (the key grid's z) and Hq at most 65535.
     *
     * @param seg not modified
     */
    public static void checkShape(Shape sh, SegmentTable seg) {
        checkHeads(sh);
        if (seg.count() > GRID_YZ_MAX) {
            throw new InvalidInputException("segments", "CudaAttention handles at most " + GRID_YZ_MAX
                    + " segments, got " + seg.count() + "; split the batch");
        }
    }

    private static void checkHeads(Shape sh) {
        if (sh.qHeads() > GRID_YZ_MAX) {
            throw new InvalidInputException("qHeads", "CudaAttention handles Hq <= " + GRID_YZ_MAX + ", got "
                    + sh.qHeads());
        }
    }
}
