package org.swiattn.spec;

/**
 * The bfloat16 format (1 sign, 8 exponent, 7 stored mantissa bits): the upper 16 bits of an IEEE binary32.
 * Rounding is to nearest, ties to even, from binary32 after the value is first rounded to binary32 (as every GPU
 * conversion {@code __float2bfloat16_rn(float)} does). Golden inputs are bf16-representable doubles, so fp64, fp32
 * and bf16 implementations all see the same inputs.
 */
public final class Bf16 {
    private Bf16() {
    }

    /** The bf16 bit pattern nearest to {@code (float) x} (ties to even); NaN stays a quiet NaN. */
    public static short bits(double x) {
        int f = Float.floatToRawIntBits((float) x);
        if (Float.isNaN((float) x)) {
            return (short) ((f >>> 16) | 0x0040);
        }
        int lsb = (f >>> 16) & 1;
        int rounded = f + 0x7FFF + lsb;
        return (short) (rounded >>> 16);
    }

    /** The value of a bf16 bit pattern, exactly, as a double. */
    public static double value(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** x rounded to the nearest bf16 value (via binary32), returned as a double. */
    public static double round(double x) {
        return value(bits(x));
    }

    /** Rounds every element in place. @param x modified */
    public static void roundInPlace(double[] x) {
        for (int n = 0; n < x.length; n++) {
            x[n] = round(x[n]);
        }
    }
}
