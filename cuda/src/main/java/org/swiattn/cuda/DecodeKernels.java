package org.swiattn.cuda;

import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.cuda.driver.Kernel;
import org.swiattn.cuda.driver.KernelModule;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Precision;

/**
 * The launch of the split-KV routed decode ({@code decode.cu}, {@code bf16/decode_bf16.cu}, {@code decode.cuh}) on
 * device-resident tensors: one split kernel over a {@link DecodePlan}'s items, whose last piece of each (row, kv
 * head) merges the pieces by LSE in the same launch. Asynchronous: call {@link CudaDevice#synchronize()} before
 * reading results.
 *
 * <pre>{@code
 *   q, o [B,1,Hq,D]   k, v [B,Sk,Hkv,D] (stored type: fp64, fp32 or bf16)   lse [B,1,Hq] (fp64, else fp32)
 *   partials  oPart [pieces, G, D], lsePart [pieces, G] in the compute type (fp64, else fp32)
 *   counters  [B*Hkv] int, zero before and after every launch (the plan's; one launch at a time per plan)
 * }</pre>
 * Versions: SIMT (every precision, {@code D <= 256}; bf16 {@code D <= 128}) and MMA (bf16 only, D = 64 or 128:
 * tensor cores, the default for bf16).
 */
public final class DecodeKernels {
    /** The SIMT split kernels' fatbin. */
    public static final String MODULE = "decode";
    /** The bf16 tensor-core split kernel's fatbin. */
    public static final String BF16_MODULE = "bf16/decode_bf16";
    /** Threads per block of every split kernel. */
    public static final int THREADS = 128;
    /** Most query heads per kv head (G): the merge stages M, W and weights of G heads in 8 KiB (decode.cuh). */
    public static final int MAX_GROUP = 256;

    /** Split-kernel versions. */
    public enum Version {
        /** SIMT: warps over keys, lanes over D; every precision. */
        SIMT(0),
        /** bf16 tensor cores (mma.sync m16n8k16, the G heads of a kv head packed as 16 rows), a 3-stage K/V ring. */
        MMA(3);

        /** Depth of the K/V ring of a tensor-core version (0: SIMT, no ring). */
        private final int stages;

        Version(int stages) {
            this.stages = stages;
        }

        /** Whether this is a tensor-core (bf16) version. */
        public boolean tensorCores() {
            return stages > 0;
        }
    }

    private final CudaDevice dev;
    private final Precision precision;
    private final KernelModule module;

    public DecodeKernels(CudaDevice dev, Precision precision) {
        this.dev = dev;
        this.precision = precision;
        this.module = dev.module(MODULE);
    }

    /** A plan on the device with its merge counters (zero); close() frees it. */
    public record DevicePlan(DecodePlan plan, DeviceBuffer items, DeviceBuffer rowStart, DeviceBuffer rowCount,
                             DeviceBuffer counters) implements AutoCloseable {
        @Override
        public void close() {
            items.close();
            rowStart.close();
            rowCount.close();
            counters.close();
        }
    }

    /** Uploads a plan. @param plan not modified */
    public DevicePlan upload(DecodePlan plan) {
        return new DevicePlan(plan, DeviceBuffer.of(dev, plan.items(), "decode.items"),
                DeviceBuffer.of(dev, plan.rowStart(), "decode.rowStart"),
                DeviceBuffer.of(dev, plan.rowCount(), "decode.rowCount"),
                DeviceBuffer.of(dev, new int[plan.rowCount().length], "decode.counters"));
    }

    /**
     * Blocks of the version's split kernel resident on the whole device at once (multiprocessors x blocks per
     * multiprocessor, from the occupancy calculator): the slots that {@link DecodePlan#of} plans for.
     *
     * @param d the head dimension of the tensors (for MMA: the padded 64 or 128)
     */
    public int slots(Version version, int d) {
        checkHeadDim(version, precision, d);
        Kernel kernel = kernel(version, d);
        int shared = version.tensorCores() ? mmaSharedBytes(version, d) : 0;
        return Math.max(1, kernel.blocksPerMultiprocessor(THREADS, shared)) * dev.multiprocessors();
    }

    private Kernel kernel(Version version, int d) {
        if (version.tensorCores()) {
            return dev.module(BF16_MODULE).kernel("swi_decode_split_mma_bf16_d" + d);
        }
        int dpl = d <= 64 ? 2 : d <= 128 ? 4 : 8;
        return module.kernel("swi_decode_split_simt_" + suffix() + "_d" + dpl);
    }

    /** Bytes per element of the compute type (partials, lse). */
    public int computeBytes() {
        return precision == Precision.FP64 ? 8 : 4;
    }

    /** Elements of the partial outputs of a plan: pieces * G * d (the lse partials: pieces * G). */
    public static long partialElems(DecodePlan plan, int qHeads, int kvHeads, int d) {
        return (long) plan.count() * (qHeads / kvHeads) * d;
    }

    private String suffix() {
        return switch (precision) {
            case FP64 -> "f64";
            case FP32 -> "f32";
            case BF16 -> "bf16";
        };
    }

    /**
     * Checks that the version runs this precision and head dimension, naming the argument when not.
     *
     * @throws InvalidInputException for D beyond the version's specialisations
     */
    public static void checkHeadDim(Version version, Precision p, int d) {
        if (version.tensorCores()) {
            InvalidInputException.require(p == Precision.BF16, "precision", "the tensor-core decode runs bf16, got "
                    + p);
            InvalidInputException.require(d == 64 || d == 128, "headDim", "the tensor-core decode runs D = 64 or 128 "
                    + "(padded), got " + d);
        } else {
            int max = p == Precision.BF16 ? 128 : 256;
            InvalidInputException.require(d >= 1 && d <= max, "headDim", "the decode kernels run D <= " + max
                    + " in " + p + ", got " + d);
        }
    }

    /**
     * One decode step: the split kernel over the plan's items, merging in the same launch. q, k, v, plan not
     * modified; oPart, lsePart scratch; o, lse written for every row.
     *
     * @param d the head dimension of the tensors (for MMA: the padded 64 or 128)
     */
    public void forward(Version version, int kvSeqLen, int qHeads, int kvHeads, int d, double scale,
                        DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, DevicePlan plan, DeviceBuffer oPart,
                        DeviceBuffer lsePart, DeviceBuffer o, DeviceBuffer lse) {
        checkHeadDim(version, precision, d);
        InvalidInputException.require(qHeads / kvHeads <= MAX_GROUP, "qHeads", "the decode merge holds at most "
                + MAX_GROUP + " query heads per kv head, got " + qHeads + " / " + kvHeads);
        long n = plan.plan().count();
        Kernel kernel = kernel(version, d);
        if (version.tensorCores()) {
            kernel.launch1d(n, THREADS, mmaSharedBytes(version, d), q, k, v, plan.items(), plan.rowStart(), plan.rowCount(),
                    plan.counters(), oPart, lsePart, o, lse, kvSeqLen, qHeads, kvHeads,
                    (float) (scale * 1.4426950408889634));
        } else {
            kernel.launch1d(n, THREADS, 0, q, k, v, plan.items(), plan.rowStart(), plan.rowCount(), plan.counters(),
                    oPart, lsePart, o, lse, kvSeqLen, qHeads, kvHeads, d,
                    precision == Precision.FP64 ? (Object) scale : (Object) (float) scale);
        }
    }

    /**
     * Dynamic shared bytes of a tensor-core split kernel (mirror of decode_smem_bytes): the Q tile + the version's
     * K/V stages of 64 keys.
     */
    public static int mmaSharedBytes(Version version, int d) {
        return 16 * d * 2 + version.stages * 2 * DecodePlan.TILE * d * 2;
    }

    /** A tensor-core split kernel's exported {16, 64, threads, shared bytes}. */
    public int[] mmaConfig(int d) {
        return dev.module(BF16_MODULE).intConstants("swi_decode_mma_bf16_d" + d + "_cfg", 4);
    }
}
