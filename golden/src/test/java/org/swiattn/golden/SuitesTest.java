package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/** The case table covers what the spec asks of the golden suite, with stable, unique ids and names. */
class SuitesTest {

    @Test
    void idsAreConsecutivePerSuiteAndNamesUnique() {
        Set<String> names = new HashSet<>();
        for (int n = 0; n < Suites.ALL.size(); n++) {
            CaseSpec c = Suites.ALL.get(n);
            int v1 = Suites.V1.size();
            assertThat(c.tcId()).isEqualTo(n < v1 ? n + 1 : 101 + n - v1);
            assertThat(c.version()).isEqualTo(n < v1 ? 1 : 2);
            assertThat(c.fileName()).isEqualTo("v" + c.version() + "/" + c.name() + ".safetensors");
            assertThat(names.add(c.name())).as("unique name " + c.name()).isTrue();
            assertThat(c.flags()).isNotEmpty();
            assertThat(c.comment()).isNotBlank();
        }
        assertThat(Suites.V1).hasSize(36);
        assertThat(Suites.suite("v2")).isEqualTo(Suites.V2);
        assertThat(Suites.find("101").name()).isEqualTo("chunk_gqa2_b2_q12_k16_w8");
        assertThat(Suites.find("24").name()).isEqualTo("routed_gqa2_s64_w16_ste");
        assertThat(Suites.find("routed_gqa2_s64_w16_ste").tcId()).isEqualTo(24);
        assertThatThrownBy(() -> Suites.find("nope")).isInstanceOf(BadInputException.class)
                .hasMessageContaining("unknown case 'nope'");
    }

    @Test
    void coversTheRequiredEdgeCases() {
        Set<Integer> ratios = new TreeSet<>();
        Set<Integer> dims = new TreeSet<>();
        Set<Estimator> backwardEstimators = new HashSet<>();
        boolean s1 = false;
        boolean w1 = false;
        boolean wCoversS = false;
        boolean wBeyondS = false;
        for (CaseSpec c : Suites.V1) {
            ratios.add(c.shape().groupSize());
            dims.add(c.shape().headDim());
            if (c.backward()) {
                backwardEstimators.add(c.estimator());
            }
            s1 |= c.shape().seqLen() == 1;
            w1 |= c.window() == 1 && c.shape().seqLen() > 1;
            wCoversS |= c.window() == c.shape().seqLen();
            wBeyondS |= c.window() > c.shape().seqLen();
        }
        assertThat(ratios).contains(1, 2, 4, 8);
        assertThat(dims).contains(1, 16, 64, 128, 256);
        assertThat(backwardEstimators).containsExactlyInAnyOrder(Estimator.values());
        assertThat(s1 && w1 && wCoversS && wBeyondS).isTrue();
        assertThat(Suites.flagCounts()).containsKeys("AllFull", "AllWindow", "Alternating", "LargeScores",
                "ZeroLogit", "Long4K", "Long32K");
        // the 32K cases: Hq = 32, Hkv = 8, D = 128, w in {1024, 4096}, 10/25/50% full
        assertThat(Suites.suite("32k")).hasSize(6).allSatisfy(c -> {
            assertThat(c.shape().qHeads()).isEqualTo(32);
            assertThat(c.shape().kvHeads()).isEqualTo(8);
            assertThat(c.shape().headDim()).isEqualTo(128);
            assertThat(c.window()).isIn(1024, 4096);
            assertThat(c.fullFraction()).isIn(0.10, 0.25, 0.50);
            assertThat(c.kind()).isEqualTo(CaseSpec.Kind.SAMPLED);
        });
        assertThat(Suites.suite("4k")).hasSize(3).allSatisfy(c -> assertThat(c.whole()).isTrue());
        assertThat(Suites.suite("small").size() + Suites.suite("4k").size() + Suites.suite("32k").size())
                .isEqualTo(Suites.V1.size());
    }

    /** Suite 2 holds every form the spec 2.0 semantics name, at the sizes and edges asked for. */
    @Test
    void suiteTwoCoversDecodeChunkedPrefillAndPacking() {
        Map<CaseSegments.Form, Integer> forms = new EnumMap<>(CaseSegments.Form.class);
        Set<Integer> decodeCapacities = new TreeSet<>();
        boolean mixedEdges = false;
        boolean nan = false;
        boolean chunk4k = false;
        boolean chunk32k = false;
        boolean packed4k = false;
        int production4kSelf = 0;
        for (CaseSpec c : Suites.V2) {
            Shape sh = c.shape();
            Segments seg = c.segments().of(sh);   // every table validates for its shape
            forms.merge(c.segments().form(), 1, Integer::sum);
            boolean production = sh.qHeads() == 32 && sh.kvHeads() == 8 && sh.headDim() == 128;
            assertThat(production).as(c.name()).isEqualTo(c.flags().contains("ProductionShape"));
            int w = c.window();
            if (c.flags().contains("Decode")) {
                assertThat(sh.seqLen()).isOne();
                assertThat(c.backward()).isFalse();
                Set<Integer> lens = new TreeSet<>();
                for (int s = 0; s < seg.count(); s++) {
                    lens.add(seg.kLen(s));
                }
                if (production && w == 1024) {
                    decodeCapacities.add(sh.kvSeqLen());
                    assertThat(lens).contains(sh.kvSeqLen());
                    mixedEdges |= lens.contains(w) && lens.contains(w + 1) && lens.stream().anyMatch(l -> l < w);
                }
            }
            nan |= c.segments().unusedNaN();
            if (c.segments().form() == CaseSegments.Form.BOTTOM_RIGHT && production && c.backward()) {
                chunk4k |= sh.seqLen() == 512 && sh.kvSeqLen() == 4096;
                chunk32k |= sh.kvSeqLen() == 32768 && sh.seqLen() < 32768;
                assertThat(c.kind()).isEqualTo(CaseSpec.Kind.SAMPLED);
            }
            if (c.segments().form() == CaseSegments.Form.PACKED && sh.rows() == 4096 && c.backward()) {
                boolean one = false;
                boolean shortDoc = false;
                for (int s = 0; s < seg.count(); s++) {
                    one |= seg.kLen(s) == 1;
                    shortDoc |= seg.kLen(s) > 1 && seg.kLen(s) < w;
                }
                packed4k |= one && shortDoc && seg.count() >= 3;
            }
            if (c.segments().form() == CaseSegments.Form.SELF && production && sh.seqLen() == 4096) {
                assertThat(c.kind()).isEqualTo(CaseSpec.Kind.SAMPLED);
                production4kSelf++;
            }
        }
        assertThat(forms.keySet()).containsExactlyInAnyOrder(CaseSegments.Form.values());
        assertThat(decodeCapacities).containsExactly(4096, 32768);
        assertThat(mixedEdges && nan && chunk4k && chunk32k && packed4k).isTrue();
        assertThat(production4kSelf).isGreaterThanOrEqualTo(2);
        // the NaN twin of the production decode case has the same inputs wherever they are read
        CaseSpec plain = Suites.find("decode_gqa4_b8_c4096_w1024");
        CaseSpec twin = Suites.find("decode_gqa4_b8_c4096_w1024_nan");
        assertThat(twin.seed()).isEqualTo(plain.seed());
        assertThat(twin.segments().withUnusedNaN()).isEqualTo(twin.segments());
        assertThat(twin.segments()).isNotEqualTo(plain.segments());
        assertThat(plain.segments().withUnusedNaN()).isEqualTo(twin.segments());
    }

    /** The documented NaN rule: exactly the key rows in no segment are NaN, in K and V. */
    @Test
    void unusedCacheSlotsAreNaNExactlyWhereTheRuleSays() {
        CaseSpec c = Suites.find("kvcache_gqa2_b4_q3_c24_w8_nan");
        AttentionInputs in = CaseInputs.inputs(c);
        Shape sh = c.shape();
        int rowSize = sh.kvHeads() * sh.headDim();
        int[] lens = {3, 8, 9, 20};
        int nanRows = 0;
        for (int kr = 0; kr < sh.kvRows(); kr++) {
            boolean used = kr % sh.kvSeqLen() < lens[kr / sh.kvSeqLen()];
            for (int e = kr * rowSize; e < (kr + 1) * rowSize; e++) {
                assertThat(Double.isNaN(in.k()[e])).as("k row " + kr).isEqualTo(!used);
                assertThat(Double.isNaN(in.v()[e])).as("v row " + kr).isEqualTo(!used);
            }
            nanRows += used ? 0 : 1;
        }
        assertThat(nanRows).isEqualTo(4 * 24 - (3 + 8 + 9 + 20));
        // the used rows are the generator's values, as in the case without NaN
        double[] k = new double[sh.kvSize()];
        SplitMix64.fill(c.seed(), "k", c.ampK(), k);
        for (int e = 0; e < k.length; e++) {
            if (!Double.isNaN(in.k()[e])) {
                assertThat(in.k()[e]).isEqualTo(k[e]);
            }
        }
    }

    /** Decode routes: exactly round(f * B) of the B new tokens are full-routed. */
    @Test
    void decodeRoutesCountFlatRows() {
        for (CaseSpec c : Suites.V2) {
            if (c.route() == CaseSpec.RouteKind.RANDOM_ROWS) {
                Route r = CaseInputs.route(c);
                assertThat(r.fullCount()).as(c.name()).isEqualTo(Math.round(c.fullFraction() * c.shape().rows()));
                assertThat(r.fullCount()).isBetween(1, c.shape().rows() - 1);
            }
        }
    }

    /** Suite-2 sampled rows: every segment's first and last query, its first and last key, both branches. */
    @Test
    void suiteTwoSampledRowsCoverEverySegment() {
        for (CaseSpec c : Suites.V2) {
            if (c.whole()) {
                continue;
            }
            Segments seg = c.segments().of(c.shape());
            Route r = CaseInputs.route(c);
            int[] rows = SampledRows.queryRows(c, seg, r);
            int[] keys = SampledRows.keyRows(c, seg, rows);
            assertThat(rows).isSorted().doesNotHaveDuplicates();
            assertThat(keys).isSorted().doesNotHaveDuplicates();
            for (int s = 0; s < seg.count(); s++) {
                if (seg.qLen(s) > 0) {
                    assertThat(rows).contains(seg.qStart(s), seg.qStart(s) + seg.qLen(s) - 1);
                }
                assertThat(keys).contains(seg.kStart(s), seg.kStart(s) + seg.kLen(s) - 1);
                int q0 = seg.kLen(s) - seg.qLen(s);
                if (q0 > 0) {   // a chunk: the last cached key and the first new key
                    assertThat(keys).contains(seg.kStart(s) + q0 - 1, seg.kStart(s) + q0);
                }
            }
            for (int row : rows) {   // each sampled query's own key (the causal edge)
                assertThat(keys).contains(seg.keyStart(row) + seg.position(row));
            }
            assertThat(java.util.Arrays.stream(rows).anyMatch(r::isFull)).isTrue();
            assertThat(java.util.Arrays.stream(rows).anyMatch(x -> !r.isFull(x))).isTrue();
        }
    }

    @Test
    void everyFlagIsDocumentedInTheReadme() throws IOException {
        Path readme = Path.of("README.md");
        String text = Files.readString(readme);
        for (String flag : Suites.flagCounts().keySet()) {
            assertThat(text).as("golden/README.md documents flag " + flag).contains("`" + flag + "`");
        }
    }

    @Test
    void routesFollowTheirKind() {
        for (CaseSpec c : Suites.suite("small")) {
            Route r = CaseInputs.route(c);
            int s = c.shape().seqLen();
            for (int row = 0; row < r.batch() * s; row++) {
                assertThat(r.isFull(row)).isEqualTo(r.logit(row) > 0);
            }
            switch (c.route()) {
                case ALL_FULL -> assertThat(r.fullCount()).isEqualTo(c.shape().rows());
                case ALL_WINDOW -> assertThat(r.fullCount()).isZero();
                case ALTERNATING -> assertThat(r.isFull(0) && !r.isFull(1) && r.isFull(2)).isTrue();
                case RANDOM, SATURATED -> assertThat(r.fullCount())
                        .isEqualTo(c.shape().batch() * Math.round(c.fullFraction() * s));
                case RANDOM_ZERO_LOGITS -> {
                    for (int row = 0; row < r.batch() * s; row += 3) {
                        assertThat(r.logit(row)).isZero();
                        assertThat(r.isFull(row)).isFalse();
                    }
                }
                default -> throw new AssertionError(c.route());
            }
            if (c.route() == CaseSpec.RouteKind.SATURATED) {
                for (int row = 0; row < s; row++) {
                    assertThat(Math.abs(r.logit(row))).isBetween(30.0, 38.0);
                }
            }
        }
    }

    @Test
    void sampledRowsCoverTheEdgesAndBothBranches() {
        for (CaseSpec c : Suites.suite("32k")) {
            Route r = CaseInputs.route(c);
            assertThat(r.fullCount()).isEqualTo(Math.round(c.fullFraction() * c.shape().seqLen()));
            int[] rows = CaseInputs.sampledRows(c, r);
            int s = c.shape().seqLen();
            int w = c.window();
            assertThat(rows).contains(0, 1, 2, w - 2, w - 1, w, w + 1, s - w, s - 3, s - 2, s - 1).hasSize(13)
                    .isSorted();
            long full = java.util.Arrays.stream(rows).filter(i -> i > w + 1 && i < s - w && r.isFull(i)).count();
            long window = java.util.Arrays.stream(rows).filter(i -> i > w + 1 && i < s - w && !r.isFull(i)).count();
            assertThat(full).isEqualTo(1);
            assertThat(window).isEqualTo(1);
            assertThat(Visibility.keyCount(s - 1, true, w)).isEqualTo(s);
        }
    }
}
