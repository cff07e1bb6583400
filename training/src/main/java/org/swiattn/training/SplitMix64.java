package org.swiattn.training;

/**
 * The draws of the training module (initialisation and synthetic data) on the project's portable PRNG: the 64-bit
 * stream of {@link org.swiattn.golden.SplitMix64} (Steele, Lea, Flood 2014), the golden files' generator. Every
 * value is a pure function of the seed and the call sequence.
 *
 * <pre>{@code
 *   next    = org.swiattn.golden.SplitMix64.nextLong()   state += GAMMA; mix(state)
 *   uniform = (next >>> 11) * 2^-53                      in [0, 1)
 * }</pre>
 */
public final class SplitMix64 {
    private final org.swiattn.golden.SplitMix64 bits;

    public SplitMix64(long seed) {
        this.bits = new org.swiattn.golden.SplitMix64(seed);
    }

    /** The next 64 random bits. */
    public long nextLong() {
        return bits.nextLong();
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform integer in [0, bound) by rejection (no modulo bias). @param bound {@code >= 1} */
    public int nextInt(int bound) {
        if (bound < 1) {
            throw new IllegalArgumentException("bound: must be >= 1, got " + bound);
        }
        // 63-bit value u; reject the final incomplete block of size (2^63 mod bound), as java.util.Random does
        long u = nextLong() >>> 1;
        long r = u % bound;
        while (u - r + (bound - 1) < 0L) {
            u = nextLong() >>> 1;
            r = u % bound;
        }
        return (int) r;
    }

    /** Standard normal by Box-Muller (uses two uniforms per value; the second value is discarded for simplicity). */
    public double nextGaussian() {
        double u1 = 1.0 - nextDouble();                        // (0, 1]
        double u2 = nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
    }

    /** A new generator whose seed is the next value of this one (independent stream for a sub-task). */
    public SplitMix64 split() {
        return new SplitMix64(nextLong());
    }
}
