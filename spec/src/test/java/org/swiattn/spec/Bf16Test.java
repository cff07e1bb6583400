package org.swiattn.spec;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class Bf16Test {
    /** Bit patterns from the bfloat16 definition (sign, 8-bit exponent with bias 127, 7 mantissa bits). */
    @Test
    void knownBitPatterns() {
        assertThat(Bf16.bits(1.0)).isEqualTo((short) 0x3F80);
        assertThat(Bf16.bits(-2.0)).isEqualTo((short) 0xC000);
        assertThat(Bf16.bits(0.0)).isEqualTo((short) 0x0000);
        assertThat(Bf16.value((short) 0x3FC0)).isEqualTo(1.5);
        assertThat(Bf16.value((short) 0x7F80)).isEqualTo(Double.POSITIVE_INFINITY);
    }

    /** Round to nearest, ties to even: the spacing of bf16 in [1, 2) is 2^-7. */
    @Test
    void roundsToNearestTiesToEven() {
        double ulp = Math.scalb(1.0, -7);
        assertThat(Bf16.round(1 + ulp / 2)).isEqualTo(1.0);                  // tie -> even (1.0)
        assertThat(Bf16.round(1 + 3 * ulp / 2)).isEqualTo(1 + 2 * ulp);      // tie -> even (1 + 2 ulp)
        assertThat(Bf16.round(1 + ulp / 2 + 1e-6)).isEqualTo(1 + ulp);       // above the tie -> up
        assertThat(Bf16.round(1 + ulp / 2 - 1e-6)).isEqualTo(1.0);           // below the tie -> down
        assertThat(Bf16.round(-(1 + 0.75 * ulp))).isEqualTo(-(1 + ulp));
    }
}
