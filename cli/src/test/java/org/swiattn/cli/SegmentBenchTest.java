package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/** Host side of the CHUNK and VARLEN bench modes: the packed documents, the peers' files, the ratios. No GPU. */
class SegmentBenchTest {

    @Test
    void documentsTileTheRowsWithOneShorterThanTheWindow() {
        for (int total : new int[] {1, 7, 4096, 32768}) {
            int[] cu = SegmentBench.documents(total, 1024, 20261129);
            assertThat(cu[0]).isZero();
            assertThat(cu[cu.length - 1]).isEqualTo(total);
            for (int i = 1; i < cu.length; i++) {
                assertThat(cu[i]).isGreaterThan(cu[i - 1]);
            }
            if (cu.length > 2) {
                assertThat(cu[2] - cu[1]).isLessThan(1024);
            }
            Segments.packedSelf(new Shape(1, total, 1, 1, 16), cu);  // a valid table
            assertThat(SegmentBench.documents(total, 1024, 20261129)).containsExactly(cu);
        }
        assertThat(SegmentBench.documents(32768, 1024, 20261129).length - 1).isGreaterThan(4);
    }

    @Test
    void documentsAreWrittenForThePeersAsOneCommaLine(@TempDir Path dir) throws Exception {
        SegmentBench.writeDocuments(dir, 10, new int[] {0, 3, 4, 10});
        assertThat(Files.readString(dir.resolve("docs_S10.txt"))).isEqualTo("0,3,4,10\n");
        assertThat(SegmentBench.lengths(new int[] {0, 3, 4, 10})).isEqualTo("3,1,6");
    }

    @Test
    void ratiosPairPeersOfTheSameDtypeSizeOpAndRho() {
        List<BenchRow> ours = List.of(
                new BenchRow("FP32", 8192, "0.25", 0.25, "forward", "k", 2.0, 2.0, Double.NaN, Double.NaN, Double.NaN),
                new BenchRow("FP32", 8192, "0.25", 0.25, "backward", "k", 4.0, 4.0, Double.NaN, Double.NaN,
                        Double.NaN));
        PeerRun.Result peers = PeerRun.parse(List.of(
                "PEER\tfp32\t8192\tflex_document\tforward\t0.25\t3.0",
                "PEER\tfp32\t8192\tflex_document\tbackward\t0.25\t2.0",
                "PEER\tfp32\t8192\tflex_document\tforward\t1\t9.0",
                "PEER\tfp64\t8192\tsdpa_document\tforward\t0.25\tnan\tout of memory"));
        List<String> t = SegmentBench.ratios(ours, peers);
        assertThat(t).hasSize(3);
        assertThat(t.get(1)).contains("forward").contains("flex_document 3.000 -> 1.500").doesNotContain("9.000");
        assertThat(t.get(2)).contains("backward").contains("flex_document 2.000 -> 0.500");
    }

    @Test
    void visiblePairsAndKeyRowsOfASegmentTable() {
        // chunk: 2 queries at positions 3, 4 of 5 keys, w = 2; full rows see 4 and 5 keys, window rows 2 each
        Segments chunk = Segments.bottomRight(new Shape(1, 2, 1, 1, 16, 5));
        assertThat(BenchRoutes.visible(chunk, new boolean[] {true, true}, 2)).containsExactly(9, 5);
        assertThat(BenchRoutes.visible(chunk, new boolean[] {false, false}, 2)).containsExactly(4, 3);  // keys 2..4
        assertThat(BenchRoutes.visible(chunk, new boolean[] {false, true}, 2)).containsExactly(7, 5);
        // packed: documents of 3 and 2 rows, positions restart: full 1+2+3 + 1+2, window (w = 1) one key each
        Shape sh = new Shape(1, 5, 2, 1, 8);
        Segments packed = Segments.packedSelf(sh, new int[] {0, 3, 5});
        assertThat(BenchRoutes.visible(packed, new boolean[] {true, true, true, true, true}, 1)).containsExactly(9, 5);
        assertThat(BenchRoutes.visible(packed, new boolean[5], 1)).containsExactly(5, 5);  // each its own key
        assertThat(BenchRoutes.usefulFlops(packed, new boolean[5], 1, 8, 2)).isEqualTo(5 * 4 * 8 * 2);
        // the one-sequence table counts what BenchRoutes counts for self-attention
        boolean[] z = BenchRoutes.mask("0.25", 1, 300, 9);
        assertThat(BenchRoutes.usefulFlops(Segments.selfAttention(new Shape(1, 300, 4, 2, 16)), z, 64, 16, 4))
                .isEqualTo(BenchRoutes.usefulFlops(z, 1, 300, 64, 16, 4));
    }

    @Test
    void theMemoryFloorCountsEachTensorOnceAndOnlyTheKeysSeen() {
        SegmentBench.Config c = new SegmentBench.Config(4, 2, 8, 2, 5, 2, List.of(5), List.of("window"), 0, 1,
                List.of("default"));
        Segments chunk = Segments.bottomRight(new Shape(1, 2, 4, 2, 8, 5));
        boolean[] z = {false, false};  // keys 2..4 seen
        // forward: q, o of 2 rows x 4 heads x 8, k, v of 3 keys x 2 heads x 8, in bf16; lse fp32
        assertThat(SegmentBench.floorBytes(chunk, z, c, 2, 4, false)).isEqualTo(2 * (2 * 4 + 3 * 2) * 8 * 2 + 2 * 4 * 4);
        // backward: q, o, dO, dQ and k, v, dK, dV; lse and delta
        assertThat(SegmentBench.floorBytes(chunk, z, c, 2, 4, true)).isEqualTo(4 * (2 * 4 + 3 * 2) * 8 * 2 + 2 * 2 * 4 * 4);
    }

    @Test
    void theLimitTableGivesFractionsOfTheGemmRateAndTheCopyBandwidth() {
        List<SegmentBench.Timed> rows = List.of(
                new SegmentBench.Timed(new BenchRow("BF16", 8192, "full", 1, "forward", "k", 2.0, 2.0, 400, Double.NaN,
                        Double.NaN), 4e9),
                new SegmentBench.Timed(new BenchRow("FP64", 8192, "full", 1, "backward", "k", 1.0, 1.0, 30,
                        Double.NaN, Double.NaN), 1e9));
        PeerRun.Result limits = PeerRun.parse(List.of("LIMIT\tcopy_d2d\t4000.0\tGB/s",
                "LIMIT\tgemm_bf16\t800.0\tTFLOP/s"));
        List<String> t = SegmentBench.limitTable(rows, limits);
        assertThat(t).hasSize(3);
        // 400 / 800 of the GEMM rate; floor 4e9 B / 4000 GB/s = 1 ms, of 2 ms: 0.5
        assertThat(t.get(1)).contains(" 0.500 ").contains(" 1.000 ").endsWith("0.500");
        // no fp64 GEMM rate measured: "-"; floor 0.25 ms of 1 ms
        assertThat(t.get(2)).contains(" - ").contains(" 0.250 ").endsWith("0.250");
        assertThat(SegmentBench.limitTable(rows, new PeerRun.Result(List.of(), List.of())).get(1)).endsWith("-");
    }

    @Test
    void bf16RunsOnlyAtTheKernelsHeadDimensions() {
        Cli.run("bench", "--mode", "VARLEN", "--dtype", "bf16", "--head-dim", "96").failsWithOneLine("--head-dim",
                "64 or 128 with --dtype bf16", "96");
        Cli.run("bench", "--mode", "CHUNK", "--dtype", "fp32,bf16", "--head-dim", "80").failsWithOneLine("--head-dim",
                "80");
        Cli.run("bench", "--mode", "CHUNK", "--dtype", "bf17").failsWithOneLine("--dtype", "'bf17'");
    }

    @Test
    void aChunkLongerThanTheCacheIsRefusedNamingTheOption() {
        Cli.run("bench", "--mode", "CHUNK", "--cache", "100", "--chunk", "101").failsWithOneLine("--chunk", "101");
        Cli.run("bench", "--mode", "CHUNK", "--chunk", "0").failsWithOneLine("--chunk", "0");
    }
}
