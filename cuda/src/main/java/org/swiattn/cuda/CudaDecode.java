package org.swiattn.cuda;

import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;

/**
 * The routed decode forward of every precision (called by {@link CudaAttention} and the bf16 implementation for
 * inputs that {@link DecodePlan#isDecode}): upload, plan, {@link DecodeKernels}, download.
 *
 * <pre>{@code
 *   HARD, STRAIGHT_THROUGH, SELECTED_BRANCH   each row's selected branch: one planned launch
 *   SOFT                                      both branches for every row, o = p oF + (1-p) oW, lse of branch z
 * }</pre>
 */
public final class CudaDecode {
    private CudaDecode() {
    }

    /** The message for segment tables other than self-attention prefill and decode. */
    public static UnsupportedOperationException unsupported(String name, AttentionInputs in) {
        return new UnsupportedOperationException(name + " computes self-attention prefill (Sq = Sk, one segment per "
                + "batch row) and decode (Sq = 1, a kvCache or bottom-right segment per batch row) only; these inputs "
                + "have " + in.shape() + " and " + in.segments());
    }

    /**
     * Decode forward: O [B,1,Hq,D], LSE [B,1,Hq].
     *
     * @param in decode inputs ({@link DecodePlan#isDecode}); not modified
     * @param dp the stored head dimension (bf16: D padded to 64 or 128; otherwise D)
     */
    public static ForwardResult forward(CudaDevice dev, Precision p, DecodeKernels.Version version,
                                        AttentionInputs in, int dp) {
        return forward(dev, p, version, in, dp, 0);
    }

    /**
     * {@link #forward(CudaDevice, Precision, DecodeKernels.Version, AttentionInputs, int)} planned for a given
     * number of resident blocks (0: the device's, {@link DecodeKernels#slots}): 1 plans every pair as one piece,
     * a large number splits every pair into single tiles.
     */
    static ForwardResult forward(CudaDevice dev, Precision p, DecodeKernels.Version version, AttentionInputs in,
                                 int dp, int slots) {
        Shape sh = in.shape();
        int d = sh.headDim();
        DecodeKernels.checkHeadDim(version, p, dp);
        DecodeKernels kn = new DecodeKernels(dev, p);
        int rows = sh.batch() * sh.qHeads();
        int es = DeviceTensors.storageBytes(p);
        int cb = DeviceTensors.computeBytes(p);
        try (DeviceBuffer q = DeviceTensors.upload(dev, in.q(), p, d, dp, "q");
             DeviceBuffer k = DeviceTensors.upload(dev, in.k(), p, d, dp, "k cache");
             DeviceBuffer v = DeviceTensors.upload(dev, in.v(), p, d, dp, "v cache");
             DeviceBuffer o = DeviceBuffer.allocate(dev, (long) rows * dp * es, "o");
             DeviceBuffer lse = DeviceBuffer.allocate(dev, (long) rows * cb, "lse")) {
            o.fill((byte) 0xFF);  // NaN poison: every element must be written
            lse.fill((byte) 0xFF);
            if (in.estimator() != Estimator.SOFT) {
                branch(dev, kn, version, in, dp, slots, null, q, k, v, o, lse);
            } else {
                Route route = in.route();
                double[] pF = new double[sh.batch()];
                double[] pW = new double[sh.batch()];
                for (int b = 0; b < pF.length; b++) {
                    pF[b] = Sigmoid.of(route.logit(b));
                    pW[b] = Sigmoid.complement(route.logit(b));
                }
                try (DeviceBuffer oF = DeviceBuffer.allocate(dev, (long) rows * dp * es, "oF");
                     DeviceBuffer oW = DeviceBuffer.allocate(dev, (long) rows * dp * es, "oW");
                     DeviceBuffer lseF = DeviceBuffer.allocate(dev, (long) rows * cb, "lseF");
                     DeviceBuffer lseW = DeviceBuffer.allocate(dev, (long) rows * cb, "lseW");
                     DeviceBuffer dpF = DeviceTensors.uploadCompute(dev, pF, p, "pF");
                     DeviceBuffer dpW = DeviceTensors.uploadCompute(dev, pW, p, "pW");
                     DeviceBuffer z = DeviceBuffer.of(dev, RouteCompaction.maskBytes(route), "route")) {
                    branch(dev, kn, version, in, dp, slots, Boolean.TRUE, q, k, v, oF, lseF);
                    branch(dev, kn, version, in, dp, slots, Boolean.FALSE, q, k, v, oW, lseW);
                    String sfx = p == Precision.FP64 ? "f64" : p == Precision.FP32 ? "f32" : "bf16";
                    long n = (long) rows * dp;
                    dev.module(KernelPlan.UTIL_MODULE).kernel("swi_soft_combine_" + sfx).launch1d((n + 255) / 256,
                            256, 0, oF, oW, dpF, dpW, lseF, lseW, z, o, lse, sh.batch(), sh.qHeads(), dp);
                    dev.synchronize();
                }
            }
            dev.synchronize();
            return new ForwardResult(sh, DeviceTensors.download(o, p, rows, d, dp),
                    DeviceTensors.downloadCompute(lse, p, rows));
        }
    }

    /** One planned launch over every row's range on the branch full (null: each row's routed branch). */
    private static void branch(CudaDevice dev, DecodeKernels kn, DecodeKernels.Version version, AttentionInputs in,
                               int dp, int slots, Boolean full, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v,
                               DeviceBuffer o, DeviceBuffer lse) {
        Shape sh = in.shape();
        int[][] r = DecodePlan.ranges(in, full);
        DecodePlan plan = DecodePlan.of(r[0], r[1], sh.kvHeads(), slots > 0 ? slots : kn.slots(version, dp));
        long parts = DecodeKernels.partialElems(plan, sh.qHeads(), sh.kvHeads(), dp);
        int cb = kn.computeBytes();
        try (DecodeKernels.DevicePlan dplan = kn.upload(plan);
             DeviceBuffer oPart = DeviceBuffer.allocate(dev, parts * cb, "decode.oPart");
             DeviceBuffer lsePart = DeviceBuffer.allocate(dev, parts / dp * cb, "decode.lsePart")) {
            kn.forward(version, sh.kvSeqLen(), sh.qHeads(), sh.kvHeads(), dp, in.scale(), q, k, v, dplan,
                    oPart, lsePart, o, lse);
            dev.synchronize();  // the plan and the partials are released when this returns
        }
    }
}
