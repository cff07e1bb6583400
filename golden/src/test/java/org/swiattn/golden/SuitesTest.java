package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.Visibility;

/** The case table covers what the spec asks of the golden suite, with stable, unique ids and names. */
class SuitesTest {

    @Test
    void idsAreOneToNAndNamesUnique() {
        Set<String> names = new HashSet<>();
        for (int n = 0; n < Suites.ALL.size(); n++) {
            CaseSpec c = Suites.ALL.get(n);
            assertThat(c.tcId()).isEqualTo(n + 1);
            assertThat(names.add(c.name())).as("unique name " + c.name()).isTrue();
            assertThat(c.flags()).isNotEmpty();
            assertThat(c.comment()).isNotBlank();
        }
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
        for (CaseSpec c : Suites.ALL) {
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
                .isEqualTo(Suites.ALL.size());
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
