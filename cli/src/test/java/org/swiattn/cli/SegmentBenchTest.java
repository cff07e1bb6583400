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
    void aChunkLongerThanTheCacheIsRefusedNamingTheOption() {
        Cli.run("bench", "--mode", "CHUNK", "--cache", "100", "--chunk", "101").failsWithOneLine("--chunk", "101");
        Cli.run("bench", "--mode", "CHUNK", "--chunk", "0").failsWithOneLine("--chunk", "0");
    }
}
