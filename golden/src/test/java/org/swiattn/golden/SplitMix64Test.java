package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The Java generator against fixed values computed independently: by the numpy snippet of SPEC.md 13.2 (run once
 * with python3 + numpy 2.4 on 2026-11-29, see examples/python/golden_prng.py), and, for the raw stream, the
 * published first outputs of SplitMix64 with seed 0 (the test vector of the xoshiro authors' splitmix64.c).
 */
class SplitMix64Test {

    @Test
    void rawStreamMatchesPublishedSeedZeroOutputs() {
        SplitMix64 g = new SplitMix64(0);
        assertThat(g.nextLong()).isEqualTo(0xe220a8397b1dcdafL);
        assertThat(g.nextLong()).isEqualTo(0x6e789e6aa1b965f4L);
        assertThat(g.nextLong()).isEqualTo(0x06c45d188009454fL);
    }

    @Test
    void fnvAndTensorSeedsMatchNumpy() {
        assertThat(SplitMix64.fnv1a64("")).isEqualTo(0xcbf29ce484222325L);
        assertThat(SplitMix64.fnv1a64("q")).isEqualTo(0xaf63ec4c860207bcL);
        assertThat(SplitMix64.fnv1a64("do")).isEqualTo(0x08915907b53bb494L);
        assertThat(SplitMix64.tensorSeed(0x5EED, "q")).isEqualTo(0x3989412002117195L);
        assertThat(SplitMix64.tensorSeed(0x5EED, "k")).isEqualTo(0x0a8df5285d11e8c3L);
        assertThat(SplitMix64.tensorSeed(0x5EED, "v")).isEqualTo(0x7a8cee67e77f1a07L);
        assertThat(SplitMix64.tensorSeed(0x5EED, "do")).isEqualTo(0x5a46c59e4813156dL);
    }

    @Test
    void goldenValuesMatchNumpy() {
        assertValues(0x5EED, "q", 1.0, 0, 0x1.dap-1, -0x1.a8p-1, 0x1.78p-2, 0x1.22p-1, 0x1.64p-1, 0x1.24p-2);
        assertValues(0x5EED, "k", 1.0, 0, -0x1.c6p-1, -0x1.0p-2, 0x1.12p-5, 0x1.acp-3, 0x1.c8p-1, 0x1.b4p-1);
        assertValues(0x5EED, "v", 1.0, 0, -0x1.5cp-2, -0x1.52p-1, -0x1.d8p-2, 0x1.6cp-1, 0x1.4ep-2, 0x1.9ep-1);
        assertValues(0x5EED, "do", 1.0, 0, -0x1.9cp-1, -0x1.6p-1, 0x1.6ap-2, -0x1.ccp-1, -0x1.b6p-2, -0x1.c2p-2);
        // far into the stream: element n is a closed form of n
        assertValues(0x5EED, "q", 1.0, 1_000_000_000L, 0x1.98p-1, 0x1.92p-5, -0x1.f8p-3);
        // a large seed and a power-of-two amplitude
        assertValues(12345678901234567L, "k", 16.0, 0, 0x1.eap+3, 0x1.1ap+0, 0x1.fep+1, 0x1.8ep+3);
    }

    @Test
    void sequentialFillEqualsClosedForm() {
        double[] all = new double[100];
        SplitMix64.fill(77, "v", 1.0, all);
        double[] tail = new double[10];
        SplitMix64.fill(77, "v", 1.0, tail, 0, 10, 90);
        for (int n = 0; n < 10; n++) {
            assertThat(tail[n]).isEqualTo(all[90 + n]);
            assertThat(all[n]).isEqualTo(SplitMix64.goldenElement(SplitMix64.tensorSeed(77, "v"), n));
        }
    }

    @Test
    void valuesAreBf16RepresentableAndInRange() {
        double[] x = new double[1 << 16];
        SplitMix64.fill(3, "q", 1.0, x);
        for (double v : x) {
            assertThat(v).isBetween(-1.0, 1.0);
            long bits = Double.doubleToRawLongBits(v);
            assertThat(bits & ((1L << 45) - 1)).as("only 8 significant bits").isZero();
        }
    }

    @Test
    void amplitudeMustBeAPowerOfTwo() {
        assertThatThrownBy(() -> SplitMix64.fill(1, "q", 3.0, new double[1]))
                .hasMessageContaining("power of two");
        assertThatThrownBy(() -> SplitMix64.fill(1, "q", -2.0, new double[1]))
                .hasMessageContaining("power of two");
    }

    private static void assertValues(long seed, String name, double amp, long first, double... expected) {
        double[] got = new double[expected.length];
        SplitMix64.fill(seed, name, amp, got, 0, got.length, first);
        assertThat(got).containsExactly(expected);
    }
}
