package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.swiattn.cuda.bf16.Bf16Kernels.BackwardVersion;
import org.swiattn.spec.InvalidInputException;

/** Host-side logic of the bench: route masks, peer-line parsing, the ratio table. No GPU needed. */
class Bf16BenchTest {

    @Test
    void masksHaveTheirFullFraction() {
        assertThat(BenchRoutes.mask("full", 2, 100, 1)).containsOnly(true).hasSize(200);
        assertThat(BenchRoutes.mask("window", 1, 50, 1)).containsOnly(false);
        boolean[] z = BenchRoutes.mask("0.25", 1, 40000, 7);
        assertThat(BenchRoutes.fraction(z)).isBetween(0.24, 0.26);
        assertThat(BenchRoutes.mask("0.25", 1, 100, 7)).containsExactly(BenchRoutes.mask("0.25", 1, 100, 7));
        assertThatThrownBy(() -> BenchRoutes.mask("half", 1, 4, 1)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("routes").hasMessageContaining("half");
        assertThatThrownBy(() -> BenchRoutes.mask("1.5", 1, 4, 1)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("1.5");
    }

    @Test
    void backwardVersionsDefaultToTheDevicesTensorCoresAndSimtAndSimtStopsAbove4096() {
        Bf16Bench.Config dflt = config(List.of());
        assertThat(dflt.backwardVersionsAt(4096, BackwardVersion.MMA))
                .containsExactly(BackwardVersion.MMA, BackwardVersion.SIMT);
        assertThat(dflt.backwardVersionsAt(8192, BackwardVersion.WGMMA)).containsExactly(BackwardVersion.WGMMA);
        Bf16Bench.Config both = config(List.of(BackwardVersion.SIMT, BackwardVersion.MMA));
        assertThat(both.backwardVersionsAt(4096, BackwardVersion.WGMMA))
                .containsExactly(BackwardVersion.SIMT, BackwardVersion.MMA);
        assertThat(both.backwardVersionsAt(32768, BackwardVersion.WGMMA)).containsExactly(BackwardVersion.MMA);
        assertThat(Bf16Bench.Config.backwardKernel(BackwardVersion.MMA, 128)).isEqualTo("bwd_mma2_bf16_d128");
        assertThat(Bf16Bench.Config.backwardKernel(BackwardVersion.MMA, 64)).isEqualTo("bwd_mma2_bf16_d64");
        assertThat(Bf16Bench.Config.backwardKernel(BackwardVersion.WGMMA, 128)).isEqualTo("bwd_wgmma_bf16_d128");
        assertThat(Bf16Bench.Config.backwardKernel(BackwardVersion.SIMT, 64)).contains("simt");
    }

    private static Bf16Bench.Config config(List<BackwardVersion> versions) {
        return new Bf16Bench.Config(1, 32, 8, 128, 1024, List.of(4096), List.of("full"), List.of(4096),
                List.of("full"), versions, 0, 1, null, List.of("default"), List.of(1));
    }

    @Test
    void forwardAndBackwardShareTheMaskOfARoute() {
        List<String> fwd = List.of("full", "window", "0.1", "0.25");
        List<String> bwd = List.of("full", "0.25", "0.4");
        assertThat(BenchRoutes.maskSeed(5, fwd, bwd, "0.25")).isEqualTo(5 + 100 + 3);
        assertThat(BenchRoutes.maskSeed(5, fwd, bwd, "0.4")).isEqualTo(5 + 200 + 2);
    }

    @Test
    void usefulFlopsCountVisiblePairsOnly() {
        // S = 4, w = 2: full rows see 1+2+3+4 = 10 keys, window rows 1+2+2+2 = 7; 4*D*Hq per pair
        assertThat(BenchRoutes.usefulFlops(new boolean[] {true, true, true, true}, 1, 4, 2, 8, 3))
                .isEqualTo(10 * 4 * 8 * 3);
        assertThat(BenchRoutes.usefulFlops(new boolean[4], 1, 4, 2, 8, 3)).isEqualTo(7 * 4 * 8 * 3);
    }

    @Test
    void peerAndLimitLinesAreParsedAndOtherLinesIgnored() {
        PeerRun.Result p = PeerRun.parse(List.of("2.11.0 NVIDIA H200",
                "PEER\tbf16\t4096\tsdpa_full\tforward\t1.00000\t0.25600", "  4096 peer flex_window 0.205 ms",
                "PEER\tbf16\t32768\tflex_routed_compact\tbackward\t0.24800\t20.50000",
                "PEER\tfp64\t32768\tsdpa_dense_mask\tforward\t0.25000\tnan\tout of memory",
                "LIMIT\tgemm_bf16\t781.5\tTFLOP/s"));
        assertThat(p.peers()).containsExactly(new PeerRun.Peer("bf16", 4096, "sdpa_full", "forward", 1.0, 0.256, ""),
                new PeerRun.Peer("bf16", 32768, "flex_routed_compact", "backward", 0.248, 20.5, ""),
                new PeerRun.Peer("fp64", 32768, "sdpa_dense_mask", "forward", 0.25, Double.NaN, "out of memory"));
        assertThat(p.limit("gemm_bf16")).isEqualTo(781.5);
        assertThat(p.limit("gemm_fp64")).isNaN();
        assertThatThrownBy(() -> PeerRun.parse(List.of("PEER\t1\tx"))).hasMessageContaining("7 or 8 tab-separated");
    }

    @Test
    void ratiosComparePeersOfTheSameMaskAndRhoAndTheIdeal() {
        List<BenchRow> ours = List.of(
                new BenchRow("BF16", 4096, "full", 1, "forward", "k", 0.5, 0.5, 390.75, Double.NaN, Double.NaN),
                new BenchRow("BF16", 4096, "0.2", 0.2, "backward", "bwd_mma2_bf16_d128", 2.0, 2.0, 1, Double.NaN,
                        Double.NaN),
                new BenchRow("BF16", 4096, "0.2", 0.2, "backward", "bwd_v2_bf16_d128 (simt)", 9.0, 9.0, 1, 1e-3,
                        Double.NaN));
        PeerRun.Result peers = new PeerRun.Result(List.of(
                new PeerRun.Peer("bf16", 4096, "sdpa_full", "forward", 1, 0.25, ""),
                new PeerRun.Peer("bf16", 4096, "flex_full", "forward", 1, 0.4, ""),
                new PeerRun.Peer("bf16", 4096, "sdpa_full", "backward", 1, 0.8, ""),
                new PeerRun.Peer("bf16", 4096, "flex_window", "backward", 0, 0.6, ""),
                new PeerRun.Peer("bf16", 4096, "flex_routed_compact", "backward", 0.3, 7.0, ""),
                new PeerRun.Peer("bf16", 4096, "flex_routed_compact", "backward", 0.2, 1.0, "")),
                List.of(new PeerRun.Limit("gemm_bf16", 781.5, "TFLOP/s")));
        List<String> t = PeerRun.ratios(ours, peers);
        assertThat(t).hasSize(3);  // header, full forward, routed backward (SIMT rows are not compared)
        assertThat(t.get(1)).contains("sdpa_full 0.250 -> 0.500").contains("flex_full 0.400 -> 0.800")
                .contains(" 0.500 ");  // 390.75 / 781.5 of the GEMM limit
        // the peer at the same rho only; ideal = 0.2 * 0.8 + 0.8 * 0.6 = 0.64; ours / ideal = 2 / 0.64 = 3.125
        assertThat(t.get(2)).contains("flex_routed_compact 1.000 -> 0.500").doesNotContain("7.000")
                .contains("ideal 0.640 -> ours/ideal 3.125");
    }
}
