package org.swiattn.golden;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The safetensors element types this kit reads (all of them) and writes (all but F16). Names are the ones of the
 * safetensors format ({@code "F64"}, {@code "BF16"}, ...); every type is stored little-endian.
 */
public enum Dtype {
    /** IEEE binary64. */
    F64(8, true),
    /** IEEE binary32. */
    F32(4, true),
    /** IEEE binary16 (read only). */
    F16(2, true),
    /** bfloat16: the upper 16 bits of a binary32. */
    BF16(2, true),
    /** Signed 64-bit integer. */
    I64(8, false),
    /** Signed 32-bit integer. */
    I32(4, false),
    /** Signed 16-bit integer. */
    I16(2, false),
    /** Signed 8-bit integer. */
    I8(1, false),
    /** Unsigned 8-bit integer. */
    U8(1, false),
    /** One byte per element, 0 (false) or 1 (true). */
    BOOL(1, false);

    private final int bytes;
    private final boolean floating;

    Dtype(int bytes, boolean floating) {
        this.bytes = bytes;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** Whether this is a floating-point type (F64, F32, F16, BF16). */
    public boolean isFloating() {
        return floating;
    }

    /**
     * The dtype of a safetensors header string.
     *
     * @throws IllegalArgumentException naming the unknown string and the known ones
     */
    public static Dtype parse(String name) {
        for (Dtype d : values()) {
            if (d.name().equals(name)) {
                return d;
            }
        }
        throw new IllegalArgumentException("unknown dtype '" + name + "' (known: "
                + Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", ")) + ")");
    }
}
