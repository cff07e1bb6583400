package org.swiattn.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Shape;

/** The host-side kernel plan: choices, tile sizes within the device limits, grid bounds, shape limits. No GPU. */
class KernelPlanTest {
    /** Hopper's opt-in limit of dynamic shared memory per block (227 KiB). */
    private static final int H100_SHARED = 232448;

    @Test
    void everyHeadDimensionGetsAKernelWhoseTileCoversIt() {
        int checked = 0;
        for (Precision p : new Precision[] {Precision.FP64, Precision.FP32}) {
            for (int d = 1; d <= 300; d++) {
                KernelPlan.Choice f = KernelPlan.forward(p, d, null);
                KernelPlan.Choice[] b = KernelPlan.backward(p, d, null);
                if (d > 256) {
                    assertThat(f.version()).isEqualTo(KernelPlan.Version.V1);
                    assertThat(b[0].version()).isEqualTo(KernelPlan.Version.V1);
                } else {
                    assertThat(f.dmax()).isGreaterThanOrEqualTo(d).isLessThanOrEqualTo(Math.max(16, 2 * d - 2));
                    assertThat(b[0].dmax()).isGreaterThanOrEqualTo(d);
                    assertThat(f.name()).endsWith("_d" + f.dmax()).contains(KernelPlan.suffix(p));
                }
                checked++;
            }
        }
        assertThat(checked).isEqualTo(600);
    }

    @Test
    void fp64UsesTensorCoresExactlyForTheFourSpecialisedSizes() {
        for (int d = 1; d <= 300; d++) {
            KernelPlan.Version fv = KernelPlan.forward(Precision.FP64, d, null).version();
            KernelPlan.Version bv = KernelPlan.backward(Precision.FP64, d, null)[0].version();
            boolean tensorCores = fv == KernelPlan.Version.V9;
            assertThat(tensorCores).as("D=%d", d).isEqualTo(d == 16 || d == 32 || d == 64 || d == 128);
            assertThat(bv == KernelPlan.Version.V11).as("backward D=%d", d).isEqualTo(tensorCores);
            assertThat(KernelPlan.hasTensorCoreKernels(d)).as("D=%d", d).isEqualTo(tensorCores);
            assertThat(KernelPlan.forward(Precision.FP32, d, null).version())
                    .isIn(KernelPlan.Version.V1, KernelPlan.Version.V2);
            assertThat(KernelPlan.backward(Precision.FP32, d, null)[0].version()).as("fp32 backward D=%d", d)
                    .isEqualTo(tensorCores ? KernelPlan.Version.V11 : d <= 256 ? KernelPlan.Version.V2
                            : KernelPlan.Version.V1);
        }
    }

    @Test
    void fp32TensorCoreBackwardHasItsOwnNamesAndKeepsTheTiles() {
        for (int d : new int[] {16, 32, 64, 128}) {
            KernelPlan.Choice[] f32 = KernelPlan.backward(Precision.FP32, d, KernelPlan.Version.V11);
            KernelPlan.Choice[] f64 = KernelPlan.backward(Precision.FP64, d, KernelPlan.Version.V11);
            assertThat(f32[0].name()).isEqualTo("swi_bwd_dkdv_v11_f32_d" + d);
            assertThat(f32[1].name()).isEqualTo("swi_bwd_dq_v11_f32_d" + d);
            assertThat(KernelPlan.segments(f32[0]).name()).isEqualTo("swi_bwd_dkdv_v11_f32_d" + d + "_seg");
            for (int i = 0; i < 2; i++) {
                assertThat(f32[i].module()).isEqualTo(KernelPlan.BACKWARD_TC_MODULE);
                assertThat(f32[i].config()).isEqualTo(f64[i].config());  // double tiles for both storage types
            }
        }
    }

    @Test
    void everyTileFitsHopperSharedMemory() {
        for (int dm : KernelPlan.DMAX) {
            for (Precision p : new Precision[] {Precision.FP64, Precision.FP32}) {
                assertThat(KernelPlan.forwardV2(p, dm).sharedBytes()).as("fwd v2 %s %d", p, dm)
                        .isLessThanOrEqualTo(H100_SHARED);
                assertThat(KernelPlan.backwardV2(p, dm).sharedBytes()).as("bwd v2 %s %d", p, dm)
                        .isLessThanOrEqualTo(H100_SHARED);
            }
            if (KernelPlan.hasTensorCoreKernels(dm)) {
                assertThat(KernelPlan.forwardV9(dm).sharedBytes() + 1024).as("fwd v9 %d", dm)
                        .isLessThanOrEqualTo(H100_SHARED);
                for (Precision p : new Precision[] {Precision.FP64, Precision.FP32}) {
                    for (KernelPlan.Choice c : KernelPlan.backward(p, dm, KernelPlan.Version.V11)) {
                        assertThat(c.config().sharedBytes() + 2304).as("%s %d", c.name(), dm)  // + static shared
                                .isLessThanOrEqualTo(H100_SHARED);
                    }
                }
            }
        }
        // the largest tiles are the ones worth checking by hand: fp64 D=128 v9 holds Q (128 rows) and K (32 rows) at
        // stride 132 doubles, V (32 rows) at stride 130
        assertThat(KernelPlan.forwardV9(128).sharedBytes()).isEqualTo(((128 + 32) * 132 + 32 * 130) * 8);
        // backward v11 D=128: K, V (64 rows) and two buffers of Q, dO (16 rows) at stride 130, the P hand-off
        // (4 x 256), lse/delta/coef (2 x 3 x 16) and the positions (2 x 16 ints); dQ: Q, dO (64 rows), K, V (32)
        assertThat(KernelPlan.backwardV11KeyTiles(128).sharedBytes())
                .isEqualTo((2 * 64 * 130 + 4 * 16 * 130 + 1024 + 96) * 8 + 128);
        assertThat(KernelPlan.backwardV11QueryTiles(128).sharedBytes()).isEqualTo((128 + 64) * 130 * 8);
    }

    @Test
    void queryGridHoldsEveryTileOfBothListsForAnySplit() {
        // for each S and every split nF + nW = S, the tiles needed are ceil(nF/BM) + ceil(nW/BM): the grid must hold them
        SplittableRandom rnd = new SplittableRandom(7);
        int checked = 0;
        for (int trial = 0; trial < 400; trial++) {
            int s = 1 + rnd.nextInt(5000);
            Shape sh = new Shape(1 + rnd.nextInt(3), s, 4, 2, 64);
            KernelPlan.Choice c = KernelPlan.forward(Precision.FP32, 64, null);
            int bm = c.config().bm();
            int perBatch = KernelPlan.queryGrid(c, sh)[0] / (sh.qHeads() * sh.batch());
            for (int nf = 0; nf <= s; nf += Math.max(1, s / 37)) {
                int need = (nf + bm - 1) / bm + (s - nf + bm - 1) / bm;
                assertThat(need).as("S=%d nF=%d", s, nf).isLessThanOrEqualTo(perBatch);
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(10000);
    }

    @Test
    void keyGridCoversEveryKey() {
        for (int s : new int[] {1, 31, 32, 33, 4095, 4096, 32768}) {
            Shape sh = new Shape(2, s, 8, 2, 128);
            for (Precision p : new Precision[] {Precision.FP64, Precision.FP32}) {
                KernelPlan.Choice c = KernelPlan.backward(p, 128, null)[0];
                int[] g = KernelPlan.keyGrid(c, sh);
                assertThat((long) g[0] * c.config().bn()).isGreaterThanOrEqualTo(s).isLessThan(s + c.config().bn());
                assertThat(g[1]).isEqualTo(2);
                assertThat(g[2]).isEqualTo(2);
            }
        }
    }

    @Test
    void bf16AndImpossibleChoicesAreRejectedNamingTheArgument() {
        assertThatThrownBy(() -> CudaAttention.checkPrecision(Precision.BF16))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("precision").hasMessageContaining("BF16");
        assertThatThrownBy(() -> KernelPlan.forward(Precision.FP32, 64, KernelPlan.Version.V9))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("headDim");
        assertThatThrownBy(() -> KernelPlan.forward(Precision.FP64, 48, KernelPlan.Version.V9))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("D=48");
        assertThatThrownBy(() -> KernelPlan.forward(Precision.FP64, 512, KernelPlan.Version.V2))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("D=512");
        assertThatThrownBy(() -> KernelPlan.backward(Precision.FP64, 64, KernelPlan.Version.V9))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("V9");
        assertThatThrownBy(() -> KernelPlan.backward(Precision.FP32, 48, KernelPlan.Version.V11))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("headDim").hasMessageContaining("FP32");
        assertThatThrownBy(() -> KernelPlan.backward(Precision.FP64, 48, KernelPlan.Version.V11))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("D=48");
    }

    @Test
    void shapesBeyondTheGridLimitsAreRejectedNamingTheArgument() {
        KernelPlan.checkShape(new Shape(65535, 1, 1, 1, 1));
        assertThatThrownBy(() -> KernelPlan.checkShape(new Shape(65536, 1, 1, 1, 1)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("batch").hasMessageContaining("65536");
        assertThatThrownBy(() -> KernelPlan.checkShape(new Shape(1, 1, 70000, 1, 1)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("qHeads");
    }

    @Test
    void v1SharedMemoryIsRowsOfD() {
        KernelPlan.Choice c = KernelPlan.forward(Precision.FP64, 300, null);
        assertThat(KernelPlan.sharedBytes(c, Precision.FP64, 300, 2)).isEqualTo(2 * 300 * 8);
        assertThat(KernelPlan.threads(c)).isEqualTo(32);
        assertThat(KernelPlan.queryGrid(c, new Shape(3, 17, 5, 1, 300))).containsExactly(17, 5, 3);
    }
}
