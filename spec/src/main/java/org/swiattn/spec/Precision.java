package org.swiattn.spec;

/** The arithmetic an implementation computes in; selects the tolerance rule of {@link Tolerance}. */
public enum Precision {
    /** IEEE binary64 throughout. */
    FP64,
    /** IEEE binary32 inputs, arithmetic and outputs. */
    FP32,
    /** bfloat16 inputs and outputs, fp32 accumulation, fp32 LSE. */
    BF16
}
