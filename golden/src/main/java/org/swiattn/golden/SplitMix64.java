package org.swiattn.golden;

import java.nio.charset.StandardCharsets;
import org.swiattn.spec.Bf16;

/**
 * The portable input generator of the golden files: SplitMix64 (Steele, Lea, Flood 2014; the seeder of
 * {@code java.util.SplittableRandom} and of xoshiro), integer-only, so every language reproduces it bit-exactly.
 *
 * <pre>
 *   state_0 = seed                                   all arithmetic mod 2^64
 *   state_n = state_{n-1} + GAMMA                    GAMMA = 0x9E3779B97F4A7C15
 *   x_n     = mix(state_n)                           n = 1, 2, ...
 *   mix(z)  : z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9
 *             z = (z ^ (z >>> 27)) * 0x94D049BB133111EB
 *             return z ^ (z >>> 31)
 *
 *   uniform53(x) = (x >>> 11) * 2^-52 - 1            53-bit uniform in [-1, 1), exact in binary64
 *   golden value = amp * bf16(uniform53(x))          bf16(u): round u to binary32 (nearest even), then to bf16
 *                                                    (nearest even) = org.swiattn.spec.Bf16.round; result in
 *                                                    [-1, 1] (1.0 only through rounding); amp a power of two
 *
 *   per-tensor seed  tensorSeed(caseSeed, name) = mix(caseSeed ^ fnv1a64(utf8(name)) + GAMMA)
 *                    (the first output of a SplitMix64 seeded with caseSeed XOR the name's FNV-1a hash)
 *   element n of a tensor (row-major, n = 0, 1, ...) uses x_{n+1} of the stream seeded with tensorSeed:
 *                    x = mix(tensorSeed + (n + 1) * GAMMA)
 *   fnv1a64(bytes)   h = 0xCBF29CE484222325; for each byte b: h = (h ^ b) * 0x100000001B3
 * </pre>
 * Because element n is a closed form of n, any slice of a tensor can be generated without the elements before it.
 */
public final class SplitMix64 {
    /** The Weyl increment, 2^64 / golden ratio, odd. */
    public static final long GAMMA = 0x9E3779B97F4A7C15L;
    /** FNV-1a 64-bit offset basis. */
    public static final long FNV_OFFSET = 0xCBF29CE484222325L;
    /** FNV-1a 64-bit prime. */
    public static final long FNV_PRIME = 0x100000001B3L;

    private long state;

    /** A generator whose first output is {@code mix(seed + GAMMA)}. */
    public SplitMix64(long seed) {
        this.state = seed;
    }

    /** The next 64-bit output. */
    public long nextLong() {
        state += GAMMA;
        return mix(state);
    }

    /** The next 53-bit uniform in [-1, 1) (not rounded). */
    public double nextUniform53() {
        return uniform53(nextLong());
    }

    /** The SplitMix64 finaliser (a bijection of 64-bit integers). */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** (x >>> 11) * 2^-52 - 1: a multiple of 2^-52 in [-1, 1), exact. */
    public static double uniform53(long x) {
        return (double) (x >>> 11) * 0x1p-52 - 1.0;
    }

    /** FNV-1a 64 of the UTF-8 bytes of a name. */
    public static long fnv1a64(String name) {
        long h = FNV_OFFSET;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * FNV_PRIME;
        }
        return h;
    }

    /** The seed of a tensor's stream: {@code mix(caseSeed ^ fnv1a64(name) + GAMMA)}. */
    public static long tensorSeed(long caseSeed, String tensorName) {
        return mix((caseSeed ^ fnv1a64(tensorName)) + GAMMA);
    }

    /** The golden value of element n of a stream: {@code bf16(uniform53(mix(seed + (n+1)*GAMMA)))}. */
    public static double goldenElement(long tensorSeed, long n) {
        return Bf16.round(uniform53(mix(tensorSeed + (n + 1) * GAMMA)));
    }

    /**
     * Fills a tensor with golden values.
     *
     * @param caseSeed   the case's seed
     * @param tensorName the tensor's name ({@code "q"}, {@code "k"}, {@code "v"}, {@code "do"})
     * @param amp        a power of two (so amp * value stays bf16-representable); checked
     * @param out        [N] written with amp * golden element n; modified
     */
    public static void fill(long caseSeed, String tensorName, double amp, double[] out) {
        fill(caseSeed, tensorName, amp, out, 0, out.length, 0);
    }

    /**
     * Fills {@code out[off .. off+count)} with elements {@code first .. first+count)} of a tensor's stream.
     *
     * @param out [N]; modified in the given range only
     */
    public static void fill(long caseSeed, String tensorName, double amp, double[] out, int off, int count,
            long first) {
        checkAmp(amp);
        long seed = tensorSeed(caseSeed, tensorName);
        long state = seed + first * GAMMA;
        for (int n = 0; n < count; n++) {
            state += GAMMA;
            out[off + n] = amp * Bf16.round(uniform53(mix(state)));
        }
    }

    /** Throws unless amp is a positive power of two (a normal binary64). */
    public static void checkAmp(double amp) {
        if (!(amp > 0) || !Double.isFinite(amp) || Math.getExponent(amp) < Double.MIN_EXPONENT
                || Double.doubleToRawLongBits(amp) << 12 != 0) {
            throw new IllegalArgumentException("amp must be a positive power of two, got " + amp);
        }
    }
}
