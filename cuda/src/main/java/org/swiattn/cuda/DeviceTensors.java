package org.swiattn.cuda;

import org.swiattn.cuda.driver.CudaDevice;
import org.swiattn.cuda.driver.DeviceBuffer;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.Precision;

/**
 * Host tensors to and from the device in a precision's stored type: fp64 as doubles, fp32 as floats, bf16 rounded
 * ({@link Bf16#bits}) and packed two per int with the head dimension zero-padded to dp; the compute type (LSE,
 * coefficients) is fp64 for FP64 and fp32 otherwise.
 */
public final class DeviceTensors {
    private DeviceTensors() {
    }

    /** Bytes of a stored element. */
    public static int storageBytes(Precision p) {
        return switch (p) {
            case FP64 -> 8;
            case FP32 -> 4;
            case BF16 -> 2;
        };
    }

    /** Bytes of a compute-type element (fp64 for FP64, fp32 otherwise). */
    public static int computeBytes(Precision p) {
        return p == Precision.FP64 ? 8 : 4;
    }

    /**
     * Uploads x [R*d] (R vectors of d) in the stored type, padded to dp for bf16 (dp = d otherwise).
     *
     * @param x not modified
     */
    public static DeviceBuffer upload(CudaDevice dev, double[] x, Precision p, int d, int dp, String label) {
        return switch (p) {
            case FP64 -> DeviceBuffer.of(dev, x, label);
            case FP32 -> DeviceBuffer.of(dev, x, true, label);
            case BF16 -> DeviceBuffer.of(dev, packBf16(x, d, dp), label);
        };
    }

    /** Uploads per-row values in the compute type. @param x not modified */
    public static DeviceBuffer uploadCompute(CudaDevice dev, double[] x, Precision p, String label) {
        return DeviceBuffer.of(dev, x, p != Precision.FP64, label);
    }

    /** Downloads R vectors of d (stored with stride dp for bf16) as doubles. */
    public static double[] download(DeviceBuffer b, Precision p, int vectors, int d, int dp) {
        return switch (p) {
            case FP64 -> b.readAll(vectors * d, false);
            case FP32 -> b.readAll(vectors * d, true);
            case BF16 -> unpackBf16(b.toInts(vectors * dp / 2), vectors, d, dp);
        };
    }

    /** Reads vectors [offset, offset + count) of d (unpadded, d even for bf16) as doubles. */
    public static double[] readVectors(DeviceBuffer b, Precision p, long offset, int count, int d) {
        if (p == Precision.BF16) {
            return unpackBf16(b.readInts(offset * d / 2, count * d / 2), count, d, d);
        }
        return b.read(offset * d, count * d, p == Precision.FP32);
    }

    /** x = scale * N(0,1) in the stored type, n elements, from a hash of (seed, index): fresh data, never zeros. */
    public static void fillNormal(CudaDevice dev, DeviceBuffer x, Precision p, long n, long seed, double scale) {
        String sfx = p == Precision.FP64 ? "f64" : p == Precision.FP32 ? "f32" : "bf16";
        dev.module(KernelPlan.UTIL_MODULE).kernel("swi_fill_normal_" + sfx).launch1d((n + 255) / 256, 256, 0, x, n,
                seed, scale);
    }

    /** Downloads n compute-type values as doubles. */
    public static double[] downloadCompute(DeviceBuffer b, Precision p, int n) {
        return b.readAll(n, p != Precision.FP64);
    }

    /** x widened to doubles. @param x not modified */
    public static double[] widen(float[] x) {
        double[] out = new double[x.length];
        for (int n = 0; n < x.length; n++) {
            out[n] = x[n];
        }
        return out;
    }

    /**
     * Rounds x [R, D] (R = rows*heads vectors of D) to bf16 and packs it as [R, dp] bf16, zero-padded, two values per
     * int (element 2n in the low half, as little-endian memory holds it).
     *
     * @param x  [R*D]; not modified
     * @param d  D
     * @param dp padded D (even, at least D)
     * @return [R*dp/2] packed words
     */
    public static int[] packBf16(double[] x, int d, int dp) {
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
    public static double[] unpackBf16(int[] packed, int r, int d, int dp) {
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

}
