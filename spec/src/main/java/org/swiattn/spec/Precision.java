package org.swiattn.spec;

/** The arithmetic an implementation computes in; selects the tolerance rule of {@link Tolerance}. */
public enum Precision {
    /** IEEE binary64 throughout. */
    FP64,
    /** IEEE binary32 inputs, arithmetic and outputs. */
    FP32,
    /** bfloat16 inputs and outputs, fp32 accumulation, fp32 LSE. */
    BF16;

    /**
     * Unit roundoff of the format the precision stores O, dQ, dK and dV in: rounding to nearest moves a value x by
     * at most {@code u |x|}.
     *
     * <pre>{@code
     *   FP64 2^-53    FP32 2^-24    BF16 2^-8 (8 significand bits, 2^-8 = half of the 2^-7 spacing)
     * }</pre>
     */
    public double storageRoundoff() {
        return switch (this) {
            case FP64 -> 0x1p-53;
            case FP32 -> 0x1p-24;
            case BF16 -> 0x1p-8;
        };
    }
}
