package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Host-side logic of the bf16 bench: route masks, peer-line parsing, the ratio table. No GPU needed. */
class Bf16BenchTest {

    @Test
    void masksHaveTheirFullFraction() {
        assertThat(Bf16Bench.mask("full", 2, 100, 1)).containsOnly(true).hasSize(200);
        assertThat(Bf16Bench.mask("window", 1, 50, 1)).containsOnly(false);
        boolean[] z = Bf16Bench.mask("0.25", 1, 40000, 7);
        int f = 0;
        for (boolean x : z) {
            f += x ? 1 : 0;
        }
        assertThat(f / 40000.0).isBetween(0.24, 0.26);
        assertThat(Bf16Bench.mask("0.25", 1, 100, 7)).containsExactly(Bf16Bench.mask("0.25", 1, 100, 7));
    }

    @Test
    void usefulFlopsCountVisiblePairsOnly() {
        // S = 4, w = 2: full rows see 1+2+3+4 = 10 keys, window rows 1+2+2+2 = 7; 4*D*Hq per pair
        assertThat(Bf16Bench.usefulFlops(new boolean[] {true, true, true, true}, 1, 4, 2, 8, 3)).isEqualTo(10 * 4 * 8 * 3);
        assertThat(Bf16Bench.usefulFlops(new boolean[4], 1, 4, 2, 8, 3)).isEqualTo(7 * 4 * 8 * 3);
    }

    @Test
    void peerLinesAreParsedAndOtherLinesIgnored() {
        List<Bf16Bench.Peer> p = Bf16Bench.parsePeers(List.of("2.11.0 NVIDIA H200",
                "PEER\t4096\tsdpa_full\tforward\t0.25600\t1.00000", "  4096 peer flex_window 0.205 ms",
                "PEER\t32768\tflex_routed_compact\tbackward\t20.50000\t0.24800"));
        assertThat(p).containsExactly(new Bf16Bench.Peer(4096, "sdpa_full", "forward", 0.256, 1.0),
                new Bf16Bench.Peer(32768, "flex_routed_compact", "backward", 20.5, 0.248));
        assertThatThrownBy(() -> Bf16Bench.parsePeers(List.of("PEER\t1\tx"))).hasMessageContaining("6 tab-separated");
    }

    @Test
    void ratiosComparePeersOfTheSameMaskAndTheIdeal() {
        List<Bf16Bench.Result> ours = List.of(
                new Bf16Bench.Result(4096, "full", 1, "forward", "k", 0.5, 0.5, 1, Double.NaN, Double.NaN),
                new Bf16Bench.Result(4096, "0.25", 0.25, "backward", "bwd_mma_d128", 2.0, 2.0, 1, Double.NaN, Double.NaN),
                new Bf16Bench.Result(4096, "0.25", 0.25, "backward", "bwd_simt_d128", 9.0, 9.0, 1, 1e-3, Double.NaN));
        List<Bf16Bench.Peer> peers = List.of(new Bf16Bench.Peer(4096, "sdpa_full", "forward", 0.25, 1),
                new Bf16Bench.Peer(4096, "flex_full", "forward", 0.4, 1),
                new Bf16Bench.Peer(4096, "sdpa_full", "backward", 0.8, 1),
                new Bf16Bench.Peer(4096, "flex_window", "backward", 0.6, 0),
                new Bf16Bench.Peer(4096, "flex_routed_compact", "backward", 1.0, 0.2));
        List<String> t = Bf16Bench.ratios(ours, peers);
        assertThat(t).hasSize(3);  // header, full forward, routed backward (SIMT rows are not compared)
        assertThat(t.get(1)).contains("sdpa_full 0.250 -> 0.500").contains("flex_full 0.400 -> 0.800");
        // ideal = 0.2 * 0.8 + 0.8 * 0.6 = 0.64; ours / ideal = 2 / 0.64 = 3.125
        assertThat(t.get(2)).contains("flex_routed_compact 1.000 -> 0.500").contains("ideal 0.640 -> ours/ideal 3.125");
    }
}
