package org.swiattn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.swiattn.golden.Suites;
import org.swiattn.reference.Mistake;
import org.swiattn.spec.Precision;

/**
 * {@code swiattn check --explain} names every catalogued mistake: each one is planted into an fp64 candidate
 * ({@link PlantedCandidate}: the naive implementation, not the reference) of a small case where it shows, and the
 * first mistake the explanation says MATCHES must be that one. The test walks every entry and counts them; the
 * two spec 2.0 entries use suite-2 cases (a chunk at an offset, packed documents).
 */
class ExplainTest {
    static final Path GOLDEN = Cli.repo().resolve("golden");

    /** A small case on which each mistake shows. */
    static final Map<Mistake, String> CASE = new EnumMap<>(Map.ofEntries(
            Map.entry(Mistake.WINDOW_PLUS_ONE, "routed_gqa2_s64_w16_ste"),
            Map.entry(Mistake.WINDOW_MINUS_ONE, "routed_gqa2_s64_w16_sb"),
            Map.entry(Mistake.CAUSAL_LATE, "routed_gqa2_s64_w16_hard"),
            Map.entry(Mistake.LSE_LOG2, "routed_gqa2_s64_w16_ste"),
            Map.entry(Mistake.LSE_OTHER_BRANCH, "routed_gqa2_s64_w16_sb"),
            Map.entry(Mistake.GQA_MODULO, "routed_gqa4_s48_w8"),
            Map.entry(Mistake.SCALE_ONE_OVER_D, "routed_gqa2_s64_w16_soft"),
            Map.entry(Mistake.SCALE_MISSING, "routed_gqa2_s40_w8_scale_half"),
            Map.entry(Mistake.ROUTE_TIE_TO_FULL, "routed_gqa2_s64_w16_zero_logits"),
            Map.entry(Mistake.ROUTE_PER_HEAD, "routed_gqa2_s64_w16_ste"),
            Map.entry(Mistake.SOFT_DELTA_ROUTED, "routed_gqa2_s64_w16_soft"),
            Map.entry(Mistake.ROUTER_GRADIENT_SUBTRACTION, "routed_gqa2_s64_w16_saturated"),
            Map.entry(Mistake.TOP_LEFT, "chunk_gqa2_b2_q12_k16_w8"),
            Map.entry(Mistake.CROSSING_SEGMENTS, "packed_gqa2_s40_w8")));

    @Test
    void explainNamesEveryCataloguedMistake(@TempDir Path tmp) {
        int named = 0;
        for (Mistake m : Mistake.values()) {
            String name = CASE.get(m);
            assertThat(name).as("%s has a case", m.id()).isNotNull();
            Path file = PlantedCandidate.write(GOLDEN, Suites.find(name), m, Precision.FP64,
                    tmp.resolve(m.id() + ".safetensors"));
            Cli.Run r = Cli.run("check", "--golden", GOLDEN.toString(), "--case", name, "--candidate",
                    file.toString(), "--explain");
            assertThat(r.rc()).as("%s fails the check; out:%n%s", m.id(), r.out()).isEqualTo(1);
            String first = r.out().lines().filter(l -> l.contains("MATCHES ")).findFirst().orElse("");
            assertThat(first).as("%s is the first match; out:%n%s", m.id(), r.out()).contains("MATCHES " + m.id()
                    + " ");
            assertThat(r.out()).contains("usual cause: " + m.cause());
            named++;
        }
        assertThat(named).isEqualTo(CASE.size()).isEqualTo(Mistake.values().length).isEqualTo(14);
    }

    @Test
    void aFailureGetsTheBreakdownAndAHintByDefault(@TempDir Path tmp) {
        Path file = PlantedCandidate.write(GOLDEN, Suites.find("routed_gqa4_s48_w8"), Mistake.GQA_MODULO,
                Precision.FP32, tmp.resolve("c.safetensors"));
        Cli.Run r = Cli.run("check", "--golden", GOLDEN.toString(), "--case", "routed_gqa4_s48_w8", "--candidate",
                file.toString());
        assertThat(r.rc()).isEqualTo(1);
        // Hq = 8, Hkv = 2: h / 4 and h % 2 agree on heads 0, 2 (kv head 0) and 5, 7 (kv head 1)
        assertThat(r.out()).contains("heads h: within bound 0 2 5 7; wrong 1 3 4 6");
        assertThat(r.out()).contains("hint: run again with --explain").doesNotContain("MATCHES");
    }

    @Test
    void aWindowOffByOneShowsItsFirstWrongRowAtTheWindowEdge(@TempDir Path tmp) {
        Path file = PlantedCandidate.write(GOLDEN, Suites.find("window_gqa2_s64_w8"), Mistake.WINDOW_PLUS_ONE,
                Precision.BF16, tmp.resolve("c.safetensors"));
        Cli.Run r = Cli.run("check", "--golden", GOLDEN.toString(), "--case", "window_gqa2_s64_w8", "--candidate",
                file.toString(), "--explain");
        assertThat(r.rc()).isEqualTo(1);
        // w = 8: rows 0..7 see every key either way; row 8 is the first to see one key too many
        assertThat(r.out()).contains("first i=8 (window)").contains("MATCHES window-plus-one");
    }

    @Test
    void aConformingCandidateGetsNoHint(@TempDir Path tmp) {
        Path file = PlantedCandidate.write(GOLDEN, Suites.find("routed_gqa2_s64_w16_ste"), null, Precision.FP32,
                tmp.resolve("c.safetensors"));
        Cli.Run r = Cli.run("check", "--golden", GOLDEN.toString(), "--case", "routed_gqa2_s64_w16_ste",
                "--candidate", file.toString(), "--explain");
        assertThat(r.rc()).as(r.out()).isEqualTo(0);
        assertThat(r.out()).doesNotContain("hint").doesNotContain("known mistakes");
    }
}
