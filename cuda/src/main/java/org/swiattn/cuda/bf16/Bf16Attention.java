package org.swiattn.cuda.bf16;

import java.util.List;
import org.swiattn.cuda.CudaDevice;
import org.swiattn.cuda.DeviceBuffer;
import org.swiattn.cuda.KernelModule;
import org.swiattn.cuda.RouteCompaction;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;

/**
 * Routed (Switch) attention in bf16 on NVIDIA tensor cores: bf16 inputs, fp32 accumulation, bf16 output, fp32 LSE
 * (kernels in {@code src/main/cuda/bf16}, module {@value #MODULE}).
 *
 * <pre>
 *   inputs   q [B,S,Hq,D], k, v [B,S,Hkv,D] rounded to bf16 with {@link Bf16#bits} (golden inputs are already
 *            bf16-representable, so nothing changes for them)
 *   s_ij   = scale * &lt;q_i, k_j&gt;                    fp32 accumulation of bf16 products (tensor cores)
 *   lse_i  = ln sum_{j visible} exp(s_ij)            fp32, online (max-subtracted) softmax
 *   o_i    = bf16( sum_j bf16(exp(s_ij - m)) v_j / l ) fp32 accumulation, P rounded to bf16 for the product
 *   visible: keys 0..i (z_i = 1, full) or max(0, i-w+1)..i (z_i = 0, window)
 * </pre>
 * The route is compacted on the GPU (full-routed positions, then window-routed positions, each ascending), and each
 * block takes a tile of consecutive list entries for one head, so it visits only the key tiles its queries see.
 * D in {64, 128} runs natively; other D up to 128 are zero-padded to the next of the two (padding changes no score
 * because the spec's scale is passed explicitly). Two kernel versions: {@link Variant#kind()} 1 (mma.sync m16n8k16,
 * any GPU of compute capability 8.0+) and 2 (Hopper wgmma, compute capability 9.0, reads a V^T scratch copy).
 * Judged by the spec's low-precision rule ({@link org.swiattn.spec.Tolerance}, Precision.BF16).
 *
 * <p>Backward is not implemented in bf16 yet: {@link #backward} throws {@link UnsupportedOperationException}.
 */
public final class Bf16Attention implements SwitchAttention {
    /** The packaged fatbin (relative to the kernel resource directory). */
    public static final String MODULE = "bf16/attn_fwd_bf16";

    /**
     * One compiled forward kernel.
     *
     * @param kernel  the extern "C" name
     * @param kind    1 = mma.sync version, 2 = wgmma version (sm_90a only)
     * @param headDim D the kernel is specialised for (64 or 128)
     * @param blockM  queries per block (BM)
     * @param threads threads per block
     * @param stages  depth of the K/V shared-memory ring
     */
    public record Variant(String kernel, int kind, int headDim, int blockM, int threads, int stages) {
        /** Dynamic shared memory per block, bytes (the formulas of attn_fwd_bf16.cu). */
        public int sharedBytes() {
            int kv = stages * 2 * 64 * headDim * 2;
            return kind == 1 ? blockM * 4 + blockM * headDim * 2 + kv : 1024 + blockM * headDim * 2 + kv + blockM * 4;
        }

        private static Variant v1(int d, int bm, int mt, int st, boolean qreg) {
            return new Variant("swiattn_bf16_fwd_d" + d + "_m" + bm + "_t" + mt + "_s" + st + (qreg ? "_q" : ""), 1, d,
                    bm, bm / (16 * mt) * 32, st);
        }

        private static Variant v2(int d, int nwg, int st, boolean ovl, int minb) {
            return new Variant("swiattn_bf16_wg_d" + d + "_w" + nwg + "_s" + st + (ovl ? "_o" : "") + "_b" + minb, 2,
                    d, 64 * nwg, 128 * nwg, st);
        }
    }

    /** Every forward kernel of the module, in the order of the C harness's table. */
    public static final List<Variant> VARIANTS = List.of(
            Variant.v1(128, 128, 1, 2, true), Variant.v1(128, 64, 1, 2, true), Variant.v1(128, 128, 2, 2, false),
            Variant.v1(128, 128, 1, 3, true), Variant.v1(128, 64, 1, 3, true),
            Variant.v1(64, 128, 1, 2, true), Variant.v1(64, 64, 1, 2, true), Variant.v1(64, 128, 2, 2, true),
            Variant.v2(128, 2, 2, false, 1), Variant.v2(128, 2, 2, false, 2), Variant.v2(128, 1, 2, false, 2),
            Variant.v2(128, 3, 2, false, 1), Variant.v2(128, 2, 3, true, 1), Variant.v2(128, 3, 3, true, 1),
            Variant.v2(128, 4, 2, false, 1), Variant.v2(64, 2, 2, false, 2), Variant.v2(64, 3, 3, true, 1));

    private final CudaDevice device;
    private final KernelModule module;
    private final Variant forD64;
    private final Variant forD128;

    private Bf16Attention(CudaDevice device, Variant forD64, Variant forD128) {
        this.device = device;
        this.module = device.module(MODULE);
        this.forD64 = forD64;
        this.forD128 = forD128;
    }

    /**
     * The fastest measured versions for this device: wgmma on compute capability 9.0 (H100/H200), mma.sync elsewhere
     * (bench/results/*bf16*).
     */
    public static Bf16Attention create() {
        CudaDevice dev = CudaDevice.get();
        boolean hopper = dev.computeCapability() == 90;
        return new Bf16Attention(dev, find(hopper ? "swiattn_bf16_wg_d64_w2_s2_b2" : "swiattn_bf16_fwd_d64_m128_t2_s2_q"),
                find(hopper ? "swiattn_bf16_wg_d128_w2_s2_b2" : "swiattn_bf16_fwd_d128_m64_t1_s3_q"));
    }

    /** An instance that runs the given kernel for every D (D padded to variant.headDim(); D must not exceed it). */
    public static Bf16Attention withVariant(Variant variant) {
        CudaDevice dev = CudaDevice.get();
        if (variant.kind() == 2 && dev.computeCapability() != 90) {
            throw new IllegalArgumentException("variant " + variant.kernel() + " needs compute capability 9.0, device "
                    + dev.name() + " has " + dev.computeCapability());
        }
        return new Bf16Attention(dev, variant.headDim() == 64 ? variant : null, variant);
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
        return "cuda-bf16(" + forD128.kernel() + ")";
    }

    @Override
    public Precision precision() {
        return Precision.BF16;
    }

    /** The kernel used for head dimension d (D &lt;= 64 pads to 64 where a 64 kernel is set, else to 128). */
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

    /**
     * Rounds x [R, D] (R = rows*heads vectors of D) to bf16 and packs it as [R, dp] bf16, zero-padded, two values per
     * int (element 2n in the low half, as little-endian memory holds it).
     *
     * @param x  [R*D]; not modified
     * @param d  D
     * @param dp padded D (even, &gt;= D)
     * @return [R*dp/2] packed words
     */
    static int[] packBf16(double[] x, int d, int dp) {
        int r = x.length / d;
        int[] out = new int[r * dp / 2];
        for (int v = 0; v < r; v++) {           // pass 1: every vector
            for (int e = 0; e < d; e++) {       // pass 2: its D values, rounded and placed
                int bits = Bf16.bits(x[v * d + e]) & 0xFFFF;
                int idx = v * dp + e;
                out[idx >> 1] |= (idx & 1) == 0 ? bits : bits << 16;
            }
        }
        return out;
    }

    /**
     * Unpacks [R, dp] bf16 (two per int) to [R, D] doubles, dropping the padding.
     *
     * @param packed [R*dp/2]; not modified
     */
    static double[] unpackBf16(int[] packed, int r, int d, int dp) {
        double[] out = new double[r * d];
        for (int v = 0; v < r; v++) {
            for (int e = 0; e < d; e++) {
                int idx = v * dp + e;
                int w = packed[idx >> 1];
                out[v * d + e] = Bf16.value((short) ((idx & 1) == 0 ? w : w >>> 16));
            }
        }
        return out;
    }

    /**
     * Forward pass: O [B,S,Hq,D] (bf16 values) and LSE [B,S,Hq] (fp32 values), as doubles.
     *
     * @param in validated inputs; not modified
     */
    @Override
    public ForwardResult forward(AttentionInputs in) {
        Shape s = in.shape();
        Variant var = variantFor(s.headDim());
        int bsz = s.batch(), seq = s.seqLen(), hq = s.qHeads(), hkv = s.kvHeads(), d = s.headDim();
        int dp = var.headDim();
        int sp = (seq + 63) / 64 * 64;
        long grid = (long) ((seq + var.blockM() - 1) / var.blockM() + 1) * bsz * hq;
        float scaleLog2 = (float) (in.scale() * 1.4426950408889634);
        try (DeviceBuffer q = DeviceBuffer.of(device, packBf16(in.q(), d, dp), "q(bf16)");
             DeviceBuffer k = DeviceBuffer.of(device, packBf16(in.k(), d, dp), "k(bf16)");
             DeviceBuffer v = DeviceBuffer.of(device, packBf16(in.v(), d, dp), "v(bf16)");
             DeviceBuffer o = DeviceBuffer.allocate(device, 2L * s.lseSize() * dp, "o(bf16)");
             DeviceBuffer lse = DeviceBuffer.allocate(device, 4L * s.lseSize(), "lse(fp32)");
             DeviceBuffer z = DeviceBuffer.of(device, RouteCompaction.maskBytes(in.route()), "z");
             DeviceBuffer order = DeviceBuffer.allocate(device, 4L * s.rows(), "order");
             DeviceBuffer nfull = DeviceBuffer.allocate(device, 4L * bsz, "nfull");
             DeviceBuffer vt = var.kind() == 2 ? DeviceBuffer.allocate(device, 2L * bsz * hkv * dp * sp, "vt(bf16)")
                     : null) {
            o.fill((byte) 0xFF);  // NaN poison: every element must be written
            lse.fill((byte) 0xFF);
            // 1. compaction: order [B,S] = full positions then window positions, nfull [B]
            module.kernel("swiattn_bf16_route_compact").launch1d(bsz, 1024, 0, z, order, nfull, seq);
            // 2. forward (wgmma version: V^T first)
            if (var.kind() == 2) {
                module.kernel("swiattn_bf16_transpose_v").launch(new int[] {sp / 64, dp / 64, bsz * hkv}, 256, 0, v, vt,
                        seq, sp, hkv, dp);
                module.kernel(var.kernel()).launch1d(grid, var.threads(), var.sharedBytes(), q, k, vt, o, lse, order,
                        nfull, bsz, seq, sp, hq, hkv, in.window(), scaleLog2);
            } else {
                module.kernel(var.kernel()).launch1d(grid, var.threads(), var.sharedBytes(), q, k, v, o, lse, order,
                        nfull, bsz, seq, hq, hkv, in.window(), scaleLog2);
            }
            device.synchronize();
            double[] outO = unpackBf16(o.toInts(s.lseSize() * dp / 2), s.lseSize(), d, dp);
            float[] l = lse.toFloats(s.lseSize());
            double[] outL = new double[l.length];
            for (int n = 0; n < l.length; n++) {
                outL[n] = l[n];
            }
            return new ForwardResult(s, outO, outL);
        }
    }

    /** Not implemented in bf16 yet. */
    @Override
    public BackwardResult backward(AttentionInputs in, double[] dOut) {
        throw new UnsupportedOperationException("bf16 backward is not implemented yet (forward only); use "
                + "CudaAttention (fp32/fp64) or the reference for gradients");
    }
}
